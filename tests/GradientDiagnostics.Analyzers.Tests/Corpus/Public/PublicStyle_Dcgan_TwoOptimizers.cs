// public-style: in the style of dotnet/TorchSharpExamples' DCGAN (transposed-conv generator, conv
// discriminator, BCE, two Adam optimizers with beta1 0.5, detached fakes for the discriminator). Paraphrased.
// Not recurrent; every optimizer is cleared before its backward: nothing to report.
using System;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PublicStyle.Dcgan
{
    public static class Dcgan
    {
        public static Module<Tensor, Tensor> Generator(long nz, long ngf) => Sequential(
            ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias: false), BatchNorm2d(ngf * 4), ReLU(true),
            ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias: false), BatchNorm2d(ngf * 2), ReLU(true),
            ConvTranspose2d(ngf * 2, 1, 4, 2, 1, bias: false), Tanh());

        public static Module<Tensor, Tensor> Discriminator(long ndf) => Sequential(
            Conv2d(1, ndf, 4, 2, 1, bias: false), LeakyReLU(0.2, true),
            Conv2d(ndf, ndf * 2, 4, 2, 1, bias: false), BatchNorm2d(ndf * 2), LeakyReLU(0.2, true),
            Conv2d(ndf * 2, 1, 4, 1, 0, bias: false), Sigmoid());

        public static void Run(int epochs, int batches)
        {
            var netG = Generator(100, 64);
            var netD = Discriminator(64);
            var criterion = BCELoss();
            var optimizerD = TorchSharp.torch.optim.Adam(netD.parameters(), 2e-4, beta1: 0.5);
            var optimizerG = TorchSharp.torch.optim.Adam(netG.parameters(), 2e-4, beta1: 0.5);
            for (var epoch = 0; epoch < epochs; epoch++)
            {
                for (var i = 0; i < batches; i++)
                {
                    using var d = NewDisposeScope();
                    var real = rand(64, 1, 16, 16) * 2 - 1;
                    var noise = randn(64, 100, 1, 1);

                    netD.zero_grad();
                    var errReal = criterion.forward(netD.forward(real).view(-1), ones(64));
                    errReal.backward();
                    var fake = netG.forward(noise);
                    var errFake = criterion.forward(netD.forward(fake.detach()).view(-1), zeros(64));
                    errFake.backward();
                    optimizerD.step();

                    netG.zero_grad();
                    var errG = criterion.forward(netD.forward(fake).view(-1), ones(64));
                    errG.backward();
                    optimizerG.step();

                    if (i % 50 == 0) Console.WriteLine($"[{epoch}/{epochs}][{i}/{batches}] Loss_D: {(errReal + errFake).item<float>():F4} Loss_G: {errG.item<float>():F4}");
                }
            }
        }
    }
}
