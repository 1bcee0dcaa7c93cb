// Fine-tuning a pretrained GRU encoder: weights come from a saved state dict, so they are not default
// initialisation. Clipped, zero_grad present. Correct code.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.FineTune;

public sealed class SpeechEncoder : nn.Module<Tensor, Tensor>
{
    private readonly GRU gru;
    private readonly Linear classifier;

    public SpeechEncoder(Dictionary<string, Tensor> pretrained) : base(nameof(SpeechEncoder))
    {
        gru = nn.GRU(40, 128, numLayers: 3, batchFirst: true, bidirectional: true);
        classifier = nn.Linear(256, 35);
        RegisterComponents();
        gru.load_state_dict(pretrained, strict: true);
    }

    public override Tensor forward(Tensor features)
    {
        var (y, _) = gru.call(features);
        return classifier.call(y.mean(new long[] { 1 }));
    }
}

public static class Program
{
    public static void FineTune(Dictionary<string, Tensor> pretrained, int steps)
    {
        var model = new SpeechEncoder(pretrained);
        var optimizer = optim.Adam(model.parameters(), 1e-4);
        for (var i = 0; i < steps; i++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(randn(8, 100, 40)), randint(0, 35, new long[] { 8 }));
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 0.5);
            optimizer.step();
        }
    }
}
