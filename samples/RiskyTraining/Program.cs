using static TorchSharp.torch;

// A vanilla RNN trained the way people first write it: default initialisation, no clipping,
// and the hidden state carried from batch to batch without detach.
var rnn = nn.RNN(1, 16, batchFirst: true);
var head = nn.Linear(16, 1);
var optimizer = optim.SGD(rnn.parameters().Concat(head.parameters()), 0.05);
Tensor? hidden = null;
for (var step = 0; step < 20; step++)
{
    optimizer.zero_grad();
    var x = randn(4, 50, 1);
    var (output, h) = rnn.call(x, hidden);
    hidden = h;
    var loss = nn.functional.mse_loss(head.call(output.select(1, -1)), zeros(4, 1));
    loss.backward(retain_graph: true);
    optimizer.step();
    Console.WriteLine($"step {step} loss {loss.item<float>():F4}");
}
