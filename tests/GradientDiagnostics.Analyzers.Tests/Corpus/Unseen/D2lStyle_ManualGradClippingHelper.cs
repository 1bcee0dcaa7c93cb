// Port of the "Dive into Deep Learning" RNN chapter: the book's own grad_clipping helper computes the global
// gradient norm and rescales every gradient in place when it exceeds theta, between backward and step.
// That is gradient clipping, written by hand. GRU initialised; state detached per minibatch. Correct code.
using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.D2l;

public static class D2l
{
    public static void GradClipping(nn.Module net, double theta)
    {
        var parameters = net.parameters().Where(p => p.requires_grad).ToList();
        var norm = Math.Sqrt(parameters.Sum(p => p.grad!.pow(2).sum().item<float>()));
        if (norm > theta)
        {
            foreach (var p in parameters)
            {
                p.grad!.mul_(theta / norm);
            }
        }
    }
}

public sealed class RnnModel : nn.Module<Tensor, Tensor, (Tensor, Tensor)>
{
    private readonly GRU rnn;
    private readonly Linear dense;
    private readonly long vocabSize;

    public RnnModel(long vocabSize, long hidden) : base(nameof(RnnModel))
    {
        this.vocabSize = vocabSize;
        rnn = nn.GRU(vocabSize, hidden);
        dense = nn.Linear(hidden, vocabSize);
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in rnn.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else nn.init.zeros_(p);
        }
    }

    public override (Tensor, Tensor) forward(Tensor inputs, Tensor state)
    {
        var x = nn.functional.one_hot(inputs.T, vocabSize).to_type(ScalarType.Float32);
        var (y, h) = rnn.call(x, state);
        return (dense.call(y.reshape(-1, y.shape[^1])), h);
    }
}

public static class Chapter8
{
    public static double TrainEpoch(RnnModel net, IEnumerable<(Tensor X, Tensor Y)> trainIter, optim.Optimizer updater, long hidden)
    {
        Tensor? state = null;
        var total = 0.0;
        foreach (var (x, y) in trainIter)
        {
            state = state is null ? zeros(1, x.shape[0], hidden) : state.detach();
            var (yHat, next) = net.call(x, state);
            state = next;
            var loss = nn.functional.cross_entropy(yHat, y.T.reshape(-1));
            updater.zero_grad();
            loss.backward();
            D2l.GradClipping(net, 1);
            updater.step();
            total += loss.item<float>();
        }

        return total;
    }
}
