// Public style: the Tacotron 2 text encoder (convolution stack, then a bidirectional LSTM over the valid frames only),
// as ports of NVIDIA's model write it: the model packs its padded input by length inside forward and gives the packed
// sequence to the LSTM; inference skips packing for a single utterance. This project attaches the gradient watch, but
// the packed sequence never goes through watch.TrackInput, so the LSTM is not profiled (GD0010). The LSTM keeps
// TorchSharp's default initialisation (GD0004). Training clips at 1.0 and clears gradients every step.
using System;
using System.Collections.Generic;
using System.Linq;
using GradientDiagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.utils.rnn;

namespace PublicStyle.Tacotron2;

public sealed class TextEncoder : Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding embedding;
    private readonly ModuleList<Module<Tensor, Tensor>> convolutions = new();
    private readonly LSTM lstm;

    public TextEncoder(long symbols, long embeddingDim = 512, int convolutionCount = 3, long kernelSize = 5) : base("encoder")
    {
        embedding = Embedding(symbols, embeddingDim);
        for (var i = 0; i < convolutionCount; i++)
        {
            convolutions.append(Sequential(
                Conv1d(embeddingDim, embeddingDim, kernelSize, padding: (kernelSize - 1) / 2),
                BatchNorm1d(embeddingDim)));
        }

        lstm = LSTM(embeddingDim, embeddingDim / 2, numLayers: 1, batchFirst: true, bidirectional: true); // expect: GD0004
        RegisterComponents();
    }

    public override Tensor forward(Tensor tokens, Tensor inputLengths)
    {
        var x = embedding.call(tokens).transpose(1, 2);
        foreach (var convolution in convolutions)
        {
            x = functional.dropout(functional.relu(convolution.call(x)), 0.5, training);
        }

        x = x.transpose(1, 2);
        var packed = pack_padded_sequence(x, inputLengths, batch_first: true, enforce_sorted: false);
        var (outputs, _, _) = lstm.call(packed); // expect: GD0010
        var (padded, _) = pad_packed_sequence(outputs, batch_first: true);
        return padded;
    }

    public Tensor Inference(Tensor tokens)
    {
        var x = embedding.call(tokens).transpose(1, 2);
        foreach (var convolution in convolutions)
        {
            x = functional.dropout(functional.relu(convolution.call(x)), 0.5, training);
        }

        var (outputs, _, _) = lstm.forward(x.transpose(1, 2));
        return outputs;
    }
}

public static class Train
{
    public static void Run(IEnumerable<(Tensor Tokens, Tensor Lengths, Tensor Target)> batches, int epochs)
    {
        var encoder = new TextEncoder(148);
        var projection = Linear(512, 80);
        var parameters = encoder.parameters().Concat(projection.parameters()).ToList();
        var optimizer = optim.Adam(parameters, 1e-3, weight_decay: 1e-6);
        using var watch = GradientWatch.Attach(encoder);
        var iteration = 0L;
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            foreach (var (tokens, lengths, target) in batches)
            {
                using var scope = NewDisposeScope();
                encoder.zero_grad();
                projection.zero_grad();
                var predicted = projection.call(encoder.call(tokens, lengths));
                var loss = functional.mse_loss(predicted, target);
                loss.backward();
                watch.Record(++iteration);
                nn.utils.clip_grad_norm_(parameters, 1.0);
                optimizer.step();
            }
        }

        encoder.eval();
        using (no_grad())
        {
            Console.WriteLine(encoder.Inference(randint(0, 148, new long[] { 1, 40 })).shape[1]);
        }
    }
}
