// A GRU encoder-decoder for sequence transduction, watched. The encoder is called through call(), the decoder with
// forward() in the teacher-forced training pass (GD0010, once per decoder call site that trains). Greedy decoding
// for inference also uses forward(), but nothing that trains calls it: not reported. Initialised and clipped.
using System;
using System.Collections.Generic;
using GradientDiagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.WatchedSeq2Seq;

public sealed class Transducer : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly GRU encoder;
    private readonly GRU decoder;
    private readonly Linear output;

    public Transducer(long symbols, long hidden) : base(nameof(Transducer))
    {
        encoder = nn.GRU(symbols, hidden, batchFirst: true);
        decoder = nn.GRU(symbols, hidden, batchFirst: true);
        output = nn.Linear(hidden, symbols);
        RegisterComponents();
        using var _ = no_grad();
        foreach (var gru in new[] { encoder, decoder })
        {
            nn.init.orthogonal_(gru.get_parameter("weight_hh_l0"));
            nn.init.xavier_uniform_(gru.get_parameter("weight_ih_l0"));
            nn.init.zeros_(gru.get_parameter("bias_ih_l0"));
            nn.init.zeros_(gru.get_parameter("bias_hh_l0"));
        }
    }

    public override Tensor forward(Tensor source, Tensor shiftedTarget)
    {
        var (_, context) = encoder.call(source);
        var (states, _) = decoder.forward(shiftedTarget, context); // expect: GD0010
        return output.call(states);
    }

    public List<long> Greedy(Tensor source, long start, int maxLength)
    {
        var (_, hidden) = encoder.call(source);
        var symbol = start;
        var result = new List<long>();
        for (var i = 0; i < maxLength; i++)
        {
            var input = nn.functional.one_hot(tensor(new[] { symbol }), output.out_features).to_type(ScalarType.Float32).view(1, 1, -1);
            var (state, next) = decoder.forward(input, hidden);
            hidden = next;
            symbol = output.call(state).argmax(-1).item<long>();
            result.Add(symbol);
        }

        return result;
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new Transducer(30, 128);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var watch = GradientWatch.Attach(model);
        for (var step = 1; step <= 400; step++)
        {
            using var scope = NewDisposeScope();
            var source = randn(16, 25, 30);
            var target = randn(16, 25, 30);
            var labels = randint(0, 30, new long[] { 16, 25 });
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(source, target).reshape(-1, 30), labels.reshape(-1));
            loss.backward();
            watch.Record(step);
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }

        using (no_grad())
        {
            Console.WriteLine(string.Join(" ", model.Greedy(randn(1, 25, 30), 0, 20)));
        }
    }
}
