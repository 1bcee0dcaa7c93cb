// An async training service (the shape of a background worker in an ASP.NET app): awaits batches from a
// channel and trains an initialised GRU without clipping.
using System;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.AsyncTraining;

public sealed class TelemetryModel : nn.Module<Tensor, Tensor>
{
    private readonly GRU gru = nn.GRU(5, 48, batchFirst: true);
    private readonly Linear head = nn.Linear(48, 1);

    public TelemetryModel() : base(nameof(TelemetryModel))
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

    public override Tensor forward(Tensor x) => head.call(gru.call(x).Item1.select(1, -1));
}

public sealed class TrainingWorker
{
    private readonly TelemetryModel model = new();
    private readonly Channel<(Tensor X, Tensor Y)> batches = Channel.CreateBounded<(Tensor, Tensor)>(16);

    public ChannelWriter<(Tensor X, Tensor Y)> Writer => batches.Writer;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        await foreach (var (x, y) in batches.Reader.ReadAllAsync(cancellationToken))
        {
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(x), y);
            loss.backward();
            optimizer.step(); // expect: GD0001
            await Task.Yield();
        }
    }
}
