// Top-level program hand-unrolling a vanilla RNNCell created as a local with default initialisation; fresh
// state per batch, clipped, zero_grad present.
using System;
using TorchSharp;
using static TorchSharp.torch;

var cell = nn.RNNCell(10, 20); // expect: GD0003, GD0005
var readout = nn.Linear(20, 10);
var parameters = new System.Collections.Generic.List<TorchSharp.Modules.Parameter>(cell.parameters());
parameters.AddRange(readout.parameters());
var optimizer = optim.SGD(parameters, 0.05);

for (var step = 0; step < 1000; step++)
{
    var sequence = randn(6, 3, 10);
    var h = zeros(3, 20);
    for (var t = 0; t < 6; t++)
    {
        h = cell.call(sequence[t], h);
    }

    optimizer.zero_grad();
    var loss = nn.functional.mse_loss(readout.call(h), sequence[5]);
    loss.backward();
    nn.utils.clip_grad_norm_(parameters, 1.0);
    optimizer.step();
}
