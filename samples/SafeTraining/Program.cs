using SafeTraining;
using static TorchSharp.torch;

// The models of samples/RiskyTraining trained the safe way: gated cells, explicit initialisation, gradients
// cleared and clipped between backward() and step(), the carried state detached. No GradientDiagnostics rule fires.
manual_seed(3);
Console.WriteLine($"{"char RNN",-16} final loss {Training.TrainCharRnn(steps: 30):F4}");
Console.WriteLine($"{"sentiment LSTM",-16} final loss {Training.TrainSentimentLstm(epochs: 2, batchesPerEpoch: 10):F4}");
Console.WriteLine($"{"sine forecaster",-16} final loss {Training.TrainForecaster(steps: 30):F4}");
