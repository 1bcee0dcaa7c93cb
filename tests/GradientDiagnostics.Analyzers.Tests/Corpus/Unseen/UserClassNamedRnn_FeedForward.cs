// A user class named RNN that is a *residual* feed-forward network ("Residual Neural Net"), trained
// without clipping. Nothing here is a TorchSharp recurrent module: no diagnostics.
using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.UserRnn;

public sealed class ResidualBlock : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.Linear first;
    private readonly TorchSharp.Modules.Linear second;

    public ResidualBlock(long width) : base(nameof(ResidualBlock))
    {
        first = nn.Linear(width, width);
        second = nn.Linear(width, width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x + second.call(nn.functional.relu(first.call(x)));
}

public sealed class RNN : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.ModuleList<ResidualBlock> blocks = new();
    private readonly TorchSharp.Modules.Linear output;

    public RNN(long width, int depth, long classes) : base("ResidualNeuralNet")
    {
        for (var i = 0; i < depth; i++) blocks.Add(new ResidualBlock(width));
        output = nn.Linear(width, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        foreach (var block in blocks) x = block.call(x);
        return output.call(x);
    }
}

public static class Program
{
    public static void Main()
    {
        var rnn = new RNN(64, 6, 10);
        var optimizer = optim.SGD(rnn.parameters(), 0.05);
        for (var i = 0; i < 1000; i++)
        {
            var x = randn(128, 64);
            var y = randint(0, 10, new long[] { 128 });
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(rnn.call(x), y);
            loss.backward();
            optimizer.step();
        }
    }
}
