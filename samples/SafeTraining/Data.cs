using static TorchSharp.torch;

namespace SafeTraining;

/// <summary>Small synthetic data sets, made on the spot so the sample needs no download.</summary>
public static class Data
{
    private const string Text =
        "the gradient of a recurrent network is multiplied by the recurrent weights once per timestep, " +
        "so over a long sequence it either vanishes or explodes unless the training loop takes care. ";

    public static readonly string Alphabet = new(Text.Distinct().OrderBy(c => c).ToArray());

    /// <summary>The training text repeated into one long stream of character indices.</summary>
    public static Tensor CharacterStream(int repeats)
    {
        var indices = Enumerable.Repeat(Text, repeats).SelectMany(s => s).Select(c => (long)Alphabet.IndexOf(c)).ToArray();
        return tensor(indices);
    }

    /// <summary>Token sequences labelled 1 when token 1 occurs more often than token 2.</summary>
    public static (Tensor Tokens, Tensor Labels) Sentences(int batch, int length, int vocabulary, Generator generator)
    {
        var tokens = randint(0, vocabulary, [batch, length], dtype: int64, generator: generator);
        var labels = (tokens.eq(1).sum(1) > tokens.eq(2).sum(1)).to(int64);
        return (tokens, labels);
    }

    /// <summary>Sine waves of random phase: the first <paramref name="length"/> samples, and the next one as the target.</summary>
    public static (Tensor Series, Tensor Next) Sines(int batch, int length, Generator generator)
    {
        var phase = rand([batch, 1], generator: generator) * 2 * Math.PI;
        var time = arange(length + 1, dtype: float32).unsqueeze(0) * 0.3;
        var wave = sin(time + phase);
        return (wave.narrow(1, 0, length).unsqueeze(2), wave.narrow(1, length, 1));
    }
}
