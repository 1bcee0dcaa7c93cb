using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientDiagnostics.Benchmarks;

/// <summary>Hochreiter &amp; Schmidhuber's adding problem: (value, marker) per timestep; target = sum of the two marked values.</summary>
internal static class AddingProblem
{
    public static (Tensor Inputs, Tensor Targets) Batch(int batch, int seqLen, Generator generator)
    {
        using var scope = NewDisposeScope();
        var values = rand(new long[] { batch, seqLen }, generator: generator);
        var half = seqLen / 2;
        var first = randint(0, half, new long[] { batch, 1 }, generator: generator);
        var second = randint(half, seqLen, new long[] { batch, 1 }, generator: generator);
        var markers = zeros(batch, seqLen);
        markers.scatter_(1, first, ones(batch, 1));
        markers.scatter_(1, second, ones(batch, 1));
        var inputs = stack(new[] { values, markers }, dim: 2);
        var targets = (values * markers).sum(1, keepdim: true);
        return (inputs.MoveToOuterDisposeScope(), targets.MoveToOuterDisposeScope());
    }
}

internal enum Init
{
    /// <summary>TorchSharp's default: uniform(±1/√H) everywhere, forget-gate bias 0.</summary>
    Default,

    /// <summary>Orthogonal recurrent weights, Xavier input weights, zero biases, LSTM forget-gate bias 1.</summary>
    Orthogonal,

    /// <summary>Recurrent weights 1.3·I (ReLU RNN): a Jacobian of spectral radius 1.3 along active units.</summary>
    ScaledIdentity,

    /// <summary>Orthogonal recurrent weights times 2: a tanh RNN in its chaotic regime, where the loss surface has cliffs.</summary>
    ScaledOrthogonal,

    /// <summary>
    /// samples/AddingProblem's recommended LSTM: orthogonal recurrent and Xavier input weights, chrono forget-gate biases
    /// log U(1, T − 1) (in bias_ih; bias_hh zero) and the input gate at the opposite bias.
    /// </summary>
    Chrono,
}

/// <summary>A batch-first recurrent layer whose last output is read out by a linear layer.</summary>
internal sealed class SequenceModel : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module recurrent;
    private readonly Linear head;

    public SequenceModel(string cell, int inputSize, int hidden, Init init, int seqLen = 0) : base(nameof(SequenceModel))
    {
        recurrent = cell switch
        {
            "lstm" => nn.LSTM(inputSize, hidden, batchFirst: true),
            "gru" => nn.GRU(inputSize, hidden, batchFirst: true),
            "tanh" => nn.RNN(inputSize, hidden, batchFirst: true),
            "relu" => nn.RNN(inputSize, hidden, nonLinearity: nn.NonLinearities.ReLU, batchFirst: true),
            _ => throw new ArgumentOutOfRangeException(nameof(cell), cell, "cell must be lstm, gru, tanh or relu."),
        };
        head = nn.Linear(hidden, 1);
        RegisterComponents();
        Initialise(hidden, init, seqLen);
    }

    public override Tensor forward(Tensor input)
    {
        var output = recurrent switch
        {
            LSTM lstm => lstm.call(input).Item1,
            GRU gru => gru.call(input).Item1,
            RNN rnn => rnn.call(input).Item1,
            _ => throw new InvalidOperationException(),
        };
        return head.call(output.select(1, -1));
    }

    private void Initialise(int hidden, Init init, int seqLen)
    {
        if (init == Init.Default)
        {
            return;
        }

        using var noGrad = no_grad();
        foreach (var (name, parameter) in recurrent.named_parameters())
        {
            if (name.StartsWith("weight_hh", StringComparison.Ordinal))
            {
                if (init == Init.ScaledIdentity)
                {
                    parameter.copy_(eye(hidden).mul(1.3));
                }
                else
                {
                    nn.init.orthogonal_(parameter);
                    if (init == Init.ScaledOrthogonal)
                    {
                        parameter.mul_(2.0);
                    }
                }
            }
            else if (name.StartsWith("weight_ih", StringComparison.Ordinal))
            {
                nn.init.xavier_uniform_(parameter);
                if (init == Init.ScaledIdentity)
                {
                    parameter.abs_(); // positive inputs then keep every ReLU unit active
                }
            }
            else if (init == Init.Chrono && name.StartsWith("bias_ih", StringComparison.Ordinal))
            {
                using var scope = NewDisposeScope();
                parameter.zero_();
                var forget = empty(hidden).uniform_(1, Math.Max(2, seqLen - 1)).log();
                parameter[TensorIndex.Slice(hidden, 2 * hidden)].copy_(forget);
                parameter[TensorIndex.Slice(0, hidden)].copy_(-forget);
            }
            else if (name.StartsWith("bias", StringComparison.Ordinal))
            {
                parameter.zero_();
                if (recurrent is LSTM && init != Init.Chrono)
                {
                    parameter[TensorIndex.Slice(hidden, 2 * hidden)].fill_(1.0);
                }
            }
        }
    }
}

/// <summary>One training step of the adding problem, optionally recorded by a watch.</summary>
internal sealed class TrainingLoop : IDisposable
{
    private readonly optim.Optimizer optimizer;
    private readonly Generator generator;
    private readonly int batch;
    private readonly int seqLen;

    public TrainingLoop(SequenceModel model, int batch, int seqLen, double learningRate, double? clip, int seed, bool sgd = false)
    {
        Model = model;
        this.batch = batch;
        this.seqLen = seqLen;
        FixedClip = clip;
        generator = new Generator((ulong)seed);
        optimizer = sgd ? optim.SGD(model.parameters(), learningRate) : optim.Adam(model.parameters(), learningRate);
    }

    public SequenceModel Model { get; }

    /// <summary>The max norm of clip_grad_norm_, or null not to clip (unless <see cref="Clipper"/> is set).</summary>
    public double? FixedClip { get; set; }

    /// <summary>When set, clips each step instead of <see cref="FixedClip"/>.</summary>
    public AdaptiveGradientClipper? Clipper { get; set; }

    public (double Loss, GradientStepReport? Report) Step(GradientWatch? watch, long step)
    {
        var (loss, report, _) = StepMeasured(step, watch);
        return (loss, report);
    }

    /// <summary>One step; also says whether clipping scaled the gradients down.</summary>
    public (double Loss, GradientStepReport? Report, bool Clipped) StepMeasured(long step, GradientWatch? watch = null)
    {
        using var scope = NewDisposeScope();
        var (inputs, targets) = AddingProblem.Batch(batch, seqLen, generator);
        optimizer.zero_grad();
        var loss = nn.functional.mse_loss(Model.call(inputs), targets);
        loss.backward();
        var report = watch?.Record(step);
        var clipped = false;
        if (Clipper is not null)
        {
            var before = Clipper.ClippedSteps;
            Clipper.Clip();
            clipped = Clipper.ClippedSteps > before;
        }
        else if (FixedClip is { } maxNorm)
        {
            clipped = nn.utils.clip_grad_norm_(Model.parameters(), maxNorm) > maxNorm;
        }

        optimizer.step();
        return (loss.item<float>(), report, clipped);
    }

    public void Dispose()
    {
        optimizer.Dispose();
        generator.Dispose();
        Model.Dispose();
    }
}
