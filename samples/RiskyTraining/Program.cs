using System.Runtime.InteropServices;
using RiskyTraining;
using static TorchSharp.torch;

// Deliberately unsafe training code: every GradientDiagnostics rule (GD0001–GD0009) fires somewhere in this
// project. samples/SafeTraining trains the same models the safe way and trips none.
manual_seed(3);
Report("char RNN", () => Training.TrainCharRnn(steps: 30));
Report("sentiment LSTM", () => Training.TrainSentimentLstm(epochs: 2, batchesPerEpoch: 10));
Report("sine forecaster", () => Training.TrainForecaster(steps: 30));

// The carried, undetached state plus retain_graph makes LibTorch refuse the second backward() once the
// optimizer has updated the weights in place: the runtime face of GD0002 and GD0009.
static void Report(string name, Func<double> train)
{
    try
    {
        Console.WriteLine($"{name,-16} final loss {train():F4}");
    }
    catch (ExternalException e)
    {
        Console.WriteLine($"{name,-16} failed: {e.Message.Split('\n')[0]}");
    }
}
