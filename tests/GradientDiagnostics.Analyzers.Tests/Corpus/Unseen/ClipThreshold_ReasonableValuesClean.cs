// Sensible clipping thresholds in three trainers: 0.25 (word LM), 50 (large but below any ceiling a team
// would set) and value clipping at 1.0, passed positionally and by name. Initialised LSTMs. Correct code.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.ClipReasonable;

public static class Models
{
    public static LSTM InitializedLstm(long input, long hidden)
    {
        var lstm = nn.LSTM(input, hidden);
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else { p.zero_(); p[TensorIndex.Slice(hidden, 2 * hidden)].fill_(1); }
        }

        return lstm;
    }
}

public static class Program
{
    private const double WordLmClip = 0.25;

    private static Tensor Loss(LSTM lstm)
    {
        var (y, _, _) = lstm.call(randn(10, 4, 8));
        return y.pow(2).mean();
    }

    public static void TrainWordLm(LSTM lstm)
    {
        var optimizer = optim.SGD(lstm.parameters(), 20.0);
        for (var i = 0; i < 100; i++)
        {
            optimizer.zero_grad();
            Loss(lstm).backward();
            nn.utils.clip_grad_norm_(lstm.parameters(), WordLmClip);
            optimizer.step();
        }
    }

    public static void TrainLargeBatch(LSTM lstm)
    {
        var optimizer = optim.Adam(lstm.parameters(), 1e-3);
        for (var i = 0; i < 100; i++)
        {
            optimizer.zero_grad();
            Loss(lstm).backward();
            nn.utils.clip_grad_norm_(lstm.parameters(), max_norm: 50);
            optimizer.step();
        }
    }

    public static void TrainValueClipped(LSTM lstm)
    {
        var optimizer = optim.RMSProp(lstm.parameters(), 1e-3);
        for (var i = 0; i < 100; i++)
        {
            optimizer.zero_grad();
            Loss(lstm).backward();
            nn.utils.clip_grad_value_(lstm.parameters(), clip_value: 1.0);
            optimizer.step();
        }
    }

    public static void Main()
    {
        TrainWordLm(Models.InitializedLstm(8, 8));
        TrainLargeBatch(Models.InitializedLstm(8, 8));
        TrainValueClipped(Models.InitializedLstm(8, 8));
    }
}
