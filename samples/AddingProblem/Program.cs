using System.CommandLine;
using AddingProblem;
using static TorchSharp.torch;

var steps = PositiveInt("--steps", 400, "Training steps.");
var seqLen = PositiveInt("--seq-len", 30, "Sequence length of the adding problem (at least 2).", minimum: 2);
var batch = PositiveInt("--batch", 64, "Sequences per batch.");
var hidden = PositiveInt("--hidden", 32, "LSTM hidden size.");
var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 17 };
var learningRate = new Option<double>("--lr")
{
    Description = "Adam learning rate.",
    DefaultValueFactory = _ => 5e-3,
    CustomParser = result =>
    {
        var text = result.Tokens.Count == 0 ? "" : result.Tokens[0].Value;
        if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0 && value < 10)
        {
            return value;
        }

        result.AddError($"--lr must be a number greater than 0 and less than 10, got '{text}'.");
        return 0;
    },
};

var root = new RootCommand("Trains an LSTM on Hochreiter's adding problem on the CPU and prints the loss.")
{
    steps, seqLen, batch, hidden, seed, learningRate,
};
root.SetAction(parse => Train(
    parse.GetValue(steps),
    parse.GetValue(seqLen),
    parse.GetValue(batch),
    parse.GetValue(hidden),
    parse.GetValue(seed),
    parse.GetValue(learningRate)));
return root.Parse(args).Invoke();

static Option<int> PositiveInt(string name, int defaultValue, string description, int minimum = 1) => new(name)
{
    Description = description,
    DefaultValueFactory = _ => defaultValue,
    CustomParser = result =>
    {
        var text = result.Tokens.Count == 0 ? "" : result.Tokens[0].Value;
        if (int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= minimum)
        {
            return value;
        }

        result.AddError($"{name} must be a whole number of at least {minimum}, got '{text}'.");
        return defaultValue;
    },
};

static int Train(int steps, int seqLen, int batch, int hidden, int seed, double learningRate)
{
    manual_seed(seed);
    var generator = new Generator((ulong)seed);
    using var model = new AddingModel(hidden);
    using var optimizer = optim.Adam(model.parameters(), learningRate);

    Console.WriteLine($"Adding problem: T={seqLen}, batch={batch}, LSTM hidden={hidden}, {steps} steps (mean predictor MSE {AddingTask.MeanPredictorLoss:F3})");
    var recent = new Queue<double>();
    for (var step = 1; step <= steps; step++)
    {
        using var scope = NewDisposeScope();
        var (inputs, targets) = AddingTask.Batch(batch, seqLen, generator);
        optimizer.zero_grad();
        var loss = nn.functional.mse_loss(model.call(inputs), targets);
        loss.backward();
        nn.utils.clip_grad_norm_(model.parameters(), 1.0);
        optimizer.step();

        recent.Enqueue(loss.item<float>());
        if (recent.Count > 25)
        {
            recent.Dequeue();
        }

        if (step == 1 || step % 25 == 0 || step == steps)
        {
            Console.WriteLine($"step {step,5}  loss {recent.Average():F4}");
        }
    }

    var final = recent.Average();
    Console.WriteLine(final < AddingTask.MeanPredictorLoss
        ? $"Learned: final loss {final:F4} beats the mean predictor ({AddingTask.MeanPredictorLoss:F3})."
        : $"Not learned yet: final loss {final:F4} (mean predictor {AddingTask.MeanPredictorLoss:F3}); try more --steps.");
    return 0;
}
