using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AddingProblem;

/// <summary>
/// The baseline the analyzer warns about, kept on purpose so the demo can show what those warnings mean in
/// numbers: a vanilla <c>nn.RNN</c> (GD0005) left at TorchSharp's default initialisation (GD0003), trained
/// without clipping (GD0001, see <see cref="RiskyTraining"/>). Do not copy it; copy <see cref="RecommendedModel"/>.
/// </summary>
public sealed class RiskyModel : nn.Module<Tensor, Tensor>
{
    private readonly RNN rnn;
    private readonly Linear head;

    public RiskyModel(int hidden) : base(nameof(RiskyModel))
    {
        rnn = nn.RNN(2, hidden, batchFirst: true);
        head = nn.Linear(hidden, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var (output, _) = rnn.call(input);
        return head.call(output.select(1, -1));
    }
}
