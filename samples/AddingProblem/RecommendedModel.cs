using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AddingProblem;

/// <summary>
/// What the analyzer recommends: a gated cell (LSTM) with explicit initialisation (GD0004) — orthogonal recurrent
/// weights, Xavier input weights and a positive forget-gate bias — trained with gradient clipping (see
/// <see cref="RecommendedTraining"/>). Batch-first; a linear head reads the last output.
/// </summary>
public sealed class RecommendedModel : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm;
    private readonly Linear head;

    /// <param name="hidden">Hidden size.</param>
    /// <param name="dependencyLength">How many timesteps the model must remember, for the forget-gate initialisation.</param>
    public RecommendedModel(int hidden, int dependencyLength) : base(nameof(RecommendedModel))
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
            else if (name.StartsWith("bias_ih", StringComparison.Ordinal))
            {
                // Gates are stacked [input, forget, cell, output]. "Chrono" initialisation (Tallec & Ollivier, 2018):
                // forget biases log(U(1, T-1)) give each unit a memory of up to T steps (the usual bias of 1 remembers
                // about 3), and the input gate starts at the opposite bias, so the gradient reaches early timesteps from step one.
                using var scope = NewDisposeScope();
                parameter.zero_();
                var forget = empty(hidden).uniform_(1, Math.Max(2, dependencyLength - 1)).log();
                parameter[TensorIndex.Slice(hidden, 2 * hidden)].copy_(forget);
                parameter[TensorIndex.Slice(0, hidden)].copy_(-forget);
            }
            else if (name.StartsWith("bias_hh", StringComparison.Ordinal))
            {
                parameter.zero_();
            }
        }
    }

    public override Tensor forward(Tensor input)
    {
        var (output, _, _) = lstm.call(input);
        return head.call(output.select(1, -1));
    }
}
