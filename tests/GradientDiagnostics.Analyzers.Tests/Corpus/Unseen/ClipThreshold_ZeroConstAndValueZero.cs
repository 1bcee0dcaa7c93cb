// Thresholds that zero every gradient: a float constant set to 0 "to disable clipping" and value clipping at
// 0. Initialised LSTM.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.ClipZeroConst;

public static class Program
{
    private const float MaxGradNorm = 0f;

    private static LSTM CreateLstm()
    {
        var lstm = nn.LSTM(6, 24, batchFirst: true);
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else { p.zero_(); p[TensorIndex.Slice(24, 48)].fill_(1); }
        }

        return lstm;
    }

    public static void Main()
    {
        var lstm = CreateLstm();
        var optimizer = optim.Adam(lstm.parameters(), 1e-3);
        for (var i = 0; i < 200; i++)
        {
            optimizer.zero_grad();
            var (y, _, _) = lstm.call(randn(8, 10, 6));
            var loss = y.pow(2).mean();
            loss.backward();
            nn.utils.clip_grad_norm_(lstm.parameters(), MaxGradNorm); // expect: GD0007
            optimizer.step();
        }

        var second = CreateLstm();
        var optimizer2 = optim.SGD(second.parameters(), 0.1);
        for (var i = 0; i < 200; i++)
        {
            optimizer2.zero_grad();
            var (y, _, _) = second.call(randn(8, 10, 6));
            y.abs().mean().backward();
            nn.utils.clip_grad_value_(second.parameters(), 0); // expect: GD0007
            optimizer2.step();
        }
    }
}
