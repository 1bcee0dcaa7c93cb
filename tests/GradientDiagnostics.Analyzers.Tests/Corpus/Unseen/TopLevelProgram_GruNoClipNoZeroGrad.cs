// A top-level-statements program (the `dotnet new console` style) training a GRU regressor: no
// clipping, no zero_grad, default GRU initialisation.
using System;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

var gru = nn.GRU(1, 32, batchFirst: true); // expect: GD0004
var readout = nn.Linear(32, 1);
var optimizer = optim.Adam(gru.parameters().Concat(readout.parameters()), 1e-3);

for (var step = 0; step < 500; step++) // expect: GD0008
{
    var x = rand(64, 20, 1);
    var y = x.sum(1);
    var (output, _) = gru.call(x);
    var loss = nn.functional.mse_loss(readout.call(output.select(1, -1)), y);
    loss.backward();
    optimizer.step(); // expect: GD0001
    if (step % 100 == 0) Console.WriteLine($"step {step}: {loss.item<float>():F4}");
}
