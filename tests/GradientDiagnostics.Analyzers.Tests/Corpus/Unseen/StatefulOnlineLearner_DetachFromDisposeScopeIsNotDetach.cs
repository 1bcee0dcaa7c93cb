// Stateful LSTM controller: the author keeps the state alive across dispose scopes with
// DetachFromDisposeScope(), believing it detaches it. It only changes memory ownership; the autograd
// graph still grows across every call.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.OnlineDisposeScope;

public sealed class Controller : nn.Module<Tensor, (Tensor, Tensor), (Tensor, Tensor, Tensor)>
{
    private readonly LSTMCell cell;
    private readonly Linear action;

    public Controller() : base(nameof(Controller))
    {
        cell = nn.LSTMCell(8, 64);
        action = nn.Linear(64, 2);
        RegisterComponents();
        using var _ = no_grad();
        nn.init.orthogonal_(cell.weight_hh);
        nn.init.xavier_uniform_(cell.weight_ih);
        cell.bias_ih!.zero_();
        cell.bias_hh!.zero_();
        cell.bias_ih![TensorIndex.Slice(64, 128)].fill_(1.0);
    }

    public override (Tensor, Tensor, Tensor) forward(Tensor observation, (Tensor, Tensor) state)
    {
        var (h, c) = cell.call(observation, state);
        return (action.call(h), h, c);
    }
}

public sealed class OnlineController
{
    private readonly Controller policy = new();
    private readonly optim.Optimizer optimizer;
    private Tensor h = zeros(1, 64);
    private Tensor c = zeros(1, 64);

    public OnlineController() => optimizer = optim.Adam(policy.parameters(), 1e-3);

    public void Update(Tensor observation, Tensor targetAction)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var (predicted, hNext, cNext) = policy.call(observation, (h, c));
        h = hNext.DetachFromDisposeScope(); // expect: GD0002
        c = cNext.DetachFromDisposeScope(); // expect: GD0002
        var loss = nn.functional.mse_loss(predicted, targetAction);
        loss.backward();
        nn.utils.clip_grad_norm_(policy.parameters(), 0.5);
        optimizer.step();
    }
}
