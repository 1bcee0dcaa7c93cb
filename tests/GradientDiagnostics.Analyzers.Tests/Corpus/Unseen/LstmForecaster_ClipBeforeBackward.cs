// Forecaster where clip_grad_norm_ sits before loss.backward(): it clips the (already zeroed) gradients
// of the previous step and the new gradients go to step() unclipped. LSTM at default init.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.ForecasterClipBeforeBackward;

public sealed class DemandModel : nn.Module<Tensor, Tensor>
{
    private readonly LSTM encoder = nn.LSTM(6, 64, batchFirst: true); // expect: GD0004
    private readonly Linear regressor = nn.Linear(64, 1);

    public DemandModel() : base(nameof(DemandModel)) => RegisterComponents();

    public override Tensor forward(Tensor features)
    {
        var (sequence, _, _) = encoder.call(features);
        return regressor.call(sequence.select(1, -1));
    }
}

public static class Training
{
    public static void Fit(Tensor features, Tensor demand, int epochs)
    {
        var model = new DemandModel();
        var optimizer = optim.AdamW(model.parameters(), 1e-3, weight_decay: 1e-4);
        var batches = features.shape[0] / 64;
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            for (long b = 0; b < batches; b++)
            {
                var x = features[TensorIndex.Slice(b * 64, (b + 1) * 64)];
                var y = demand[TensorIndex.Slice(b * 64, (b + 1) * 64)];
                optimizer.zero_grad();
                var prediction = model.call(x);
                var loss = nn.functional.l1_loss(prediction, y);
                nn.utils.clip_grad_norm_(model.parameters(), 1.0); // expect: GD0006
                loss.backward();
                optimizer.step();
            }
        }
    }
}
