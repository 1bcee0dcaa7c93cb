using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AddingProblem;

/// <summary>
/// The exploding baseline, kept on purpose: a ReLU <c>nn.RNN</c> whose recurrent weights start at
/// <see cref="RecurrentScale"/>·I — the identity initialisation of Le, Jaitly &amp; Hinton (2015, "IRNN") scaled past 1 —
/// trained without clipping (GD0001, see <see cref="RiskyExplodingTraining"/>). Along active units every step back in time
/// multiplies the gradient by about 1.5, so the gradient reaching early timesteps grows geometrically. The weights are
/// initialised explicitly, which satisfies GD0003: no rule judges the scale, and the runtime watch is what catches it.
/// Do not copy it; copy <see cref="RecommendedModel"/>.
/// </summary>
public sealed class RiskyExplodingModel : nn.Module<Tensor, Tensor>
{
    public const double RecurrentScale = 1.5;

    private readonly RNN rnn;
    private readonly Linear head;

    public RiskyExplodingModel(int hidden) : base(nameof(RiskyExplodingModel))
    {
        rnn = nn.RNN(2, hidden, nonLinearity: nn.NonLinearities.ReLU, batchFirst: true);
        head = nn.Linear(hidden, 1);
        RegisterComponents();

        using var noGrad = no_grad();
        foreach (var (name, parameter) in rnn.named_parameters())
        {
            if (name.StartsWith("weight_hh", StringComparison.Ordinal))
            {
                using var identity = eye(hidden);
                parameter.copy_(identity.mul_(RecurrentScale));
            }
            else if (name.StartsWith("weight_ih", StringComparison.Ordinal))
            {
                nn.init.xavier_uniform_(parameter);
            }
            else
            {
                parameter.zero_();
            }
        }
    }

    public override Tensor forward(Tensor input)
    {
        var (output, _) = rnn.call(input);
        return head.call(output.select(1, -1));
    }
}
