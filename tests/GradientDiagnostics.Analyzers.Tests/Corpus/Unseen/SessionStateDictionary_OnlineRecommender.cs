// Session-based recommender learning online: each user session's GRU state is kept in a dictionary field and
// fed back on the session's next click, never detached, so every update backpropagates through the session.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.Sessions;

public sealed class SessionModel : nn.Module<Tensor, Tensor, (Tensor, Tensor)>
{
    private readonly Embedding items = nn.Embedding(10_000, 64);
    private readonly GRU gru = nn.GRU(64, 64, batchFirst: true);
    private readonly Linear scores = nn.Linear(64, 10_000);

    public SessionModel() : base(nameof(SessionModel))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in gru.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else nn.init.zeros_(p);
        }
    }

    public override (Tensor, Tensor) forward(Tensor item, Tensor h)
    {
        var (y, hn) = gru.call(items.call(item).view(1, 1, -1), h);
        return (scores.call(y.view(1, -1)), hn);
    }
}

public sealed class OnlineRecommender
{
    private readonly SessionModel model = new();
    private readonly optim.Optimizer optimizer;
    private readonly Dictionary<string, Tensor> sessionStates = new();
    private readonly Dictionary<string, long> lastItem = new();

    public OnlineRecommender() => optimizer = optim.Adagrad(model.parameters(), 0.05);

    public void OnClick(string session, long item)
    {
        if (lastItem.TryGetValue(session, out var previous))
        {
            var state = sessionStates.TryGetValue(session, out var h) ? h : zeros(1, 1, 64);
            optimizer.zero_grad();
            var (logits, next) = model.call(tensor(new[] { previous }), state);
            sessionStates[session] = next; // expect: GD0002
            var loss = nn.functional.cross_entropy(logits, tensor(new[] { item }));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }

        lastItem[session] = item;
    }
}
