using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AddingProblem;

/// <summary>A batch-first LSTM whose last output is read out by a linear layer.</summary>
public sealed class AddingModel : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm;
    private readonly Linear head;

    public AddingModel(int hidden) : base(nameof(AddingModel))
    {
        lstm = nn.LSTM(2, hidden, batchFirst: true);
        head = nn.Linear(hidden, 1);
        RegisterComponents();

        using var noGrad = no_grad();
        foreach (var (name, parameter) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh", StringComparison.Ordinal))
            {
                nn.init.orthogonal_(parameter);
            }
            else if (name.StartsWith("weight_ih", StringComparison.Ordinal))
            {
                nn.init.xavier_uniform_(parameter);
            }
            else if (name.StartsWith("bias", StringComparison.Ordinal))
            {
                parameter.zero_();
                parameter[TensorIndex.Slice(hidden, 2 * hidden)].fill_(1.0);
            }
        }
    }

    public override Tensor forward(Tensor input)
    {
        var (output, _, _) = lstm.call(input);
        return head.call(output.select(1, -1));
    }
}
