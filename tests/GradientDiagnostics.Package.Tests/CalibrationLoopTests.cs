using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace GradientDiagnostics.Package.Tests;

/// <summary>
/// The calibration loop as a user runs it, with the packages only: a project outside this repository references
/// GradientDiagnostics.Runtime and .Analyzer; a short watched run of its own model writes gradient-calibration.json into
/// the project folder; the rebuild (the analyzer package's build props add the file) reports the far-too-small clip of
/// that run as GD0011, and <c>dotnet format</c> writes the measured threshold into both the unclipped step (GD0001) and the
/// bad clip (GD0011).
/// </summary>
[Collection(PackedPackagesCollection.Name)]
public class CalibrationLoopTests(PackedPackages package, ITestOutputHelper output)
{
    private const string Project = "Calibrated";
    private const string TinyClip = "1e-5";

    private const string Training = $$"""
        using TorchSharp;
        using TorchSharp.Modules;
        using GradientDiagnostics;
        using static TorchSharp.torch;

        namespace UserCode;

        {{UserPrograms.SequenceSumModel}}

        public static class Training
        {
            public static void Run(string calibrationPath, int steps)
            {
                manual_seed(5);
                using var model = new SequenceSum(hidden: 16);
                var optimizer = optim.Adam(model.parameters(), 1e-2);
                using var watch = GradientWatch.Attach(model, new GradientWatchOptions { CalibrationPath = calibrationPath });
                for (var step = 1; step <= steps; step++)
                {
                    using var scope = NewDisposeScope();
                    var inputs = rand(8, 20, 1);
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(inputs), inputs.sum(1)).backward();
                    watch.Record(step);
                    nn.utils.clip_grad_norm_(model.parameters(), {{TinyClip}});
                    optimizer.step();
                }
            }

            public static void FineTune(SequenceSum model, IEnumerable<(Tensor Input, Tensor Target)> batches)
            {
                var optimizer = optim.SGD(model.parameters(), 1e-3);
                foreach (var (input, target) in batches)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(input), target).backward();
                    optimizer.step();
                }
            }
        }
        """;

    [Fact]
    public void A_watched_run_writes_the_file_that_the_rebuild_checks_the_clip_against_and_dotnet_format_writes_its_threshold()
    {
        var folder = UserFolder.Create(package, "gd-calibration-");
        try
        {
            var directory = Path.Combine(folder, Project);
            Directory.CreateDirectory(directory);
            var projectFile = Path.Combine(directory, Project + ".csproj");
            File.WriteAllText(projectFile, $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="TorchSharp-cpu" Version="{ScratchProject.TorchSharpVersion}" />
                    <PackageReference Include="{PackedPackages.RuntimeId}" Version="{package.Version}" />
                    <PackageReference Include="{PackedPackages.AnalyzerId}" Version="{package.Version}" PrivateAssets="all" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(directory, "Program.cs"), "UserCode.Training.Run(args[0], steps: 40);\n");
            var trainingFile = Path.Combine(directory, "Training.cs");
            File.WriteAllText(trainingFile, Training);
            var calibrationFile = Path.Combine(directory, "gradient-calibration.json");

            // Before any run: GD0001 on the unclipped fine-tuning step, nothing to judge the clip by.
            var first = Build(directory, projectFile);
            Assert.Contains("warning GD0001", first, StringComparison.Ordinal);
            Assert.DoesNotContain("GD0011", first, StringComparison.Ordinal);

            // Step 1: train watched; the watch writes the file when disposed.
            var (runExit, runOutput) = UserWorkspace.Run(Path.Combine(directory, "bin", "Debug", "net10.0", Project + ".dll"), null, calibrationFile);
            Assert.True(runExit == 0 && File.Exists(calibrationFile), $"The watched run (exit code {runExit}) wrote no {calibrationFile}:\n{runOutput}");
            using var calibration = JsonDocument.Parse(File.ReadAllText(calibrationFile));
            var entry = Assert.Single(calibration.RootElement.GetProperty("models").EnumerateArray());
            Assert.Equal("SequenceSum", entry.GetProperty("model").GetString());
            var p10 = entry.GetProperty("globalNorm").GetProperty("p10").GetDouble();
            var recommended = entry.GetProperty("recommendedClipNorm").GetDouble();
            Assert.True(p10 > double.Parse(TinyClip, CultureInfo.InvariantCulture), $"The run's p10 {p10} is not above the clip {TinyClip}: the test's premise fails.");

            // Step 2: the rebuild reads the file from the project folder and reports the clip far below the measured norms.
            var second = Build(directory, projectFile);
            var reported = Assert.Single(second.Split('\n').Where(line => line.Contains("warning GD0011", StringComparison.Ordinal)).Distinct());
            Assert.Matches(@"Training\.cs\(\d+,\d+\): warning GD0011: Clipping threshold 1E-05 is below the measured p10 .* 'SequenceSum' \(40 steps, gradient-calibration\.json\)", reported);
            output.WriteLine(reported.Trim());

            // Step 3: dotnet format writes the measured threshold, with where it came from, for both rules.
            var (formatExit, formatLog) = Repository.Dotnet(directory, "format", "analyzers", projectFile, "--diagnostics", "GD0001", "GD0011", "--verbosity", "normal");
            Assert.True(formatExit == 0, $"dotnet format failed:\n{formatLog}");
            var fixedTraining = File.ReadAllText(trainingFile);
            var threshold = recommended.ToString("R", CultureInfo.InvariantCulture);
            threshold = threshold.IndexOfAny(['.', 'E', 'e']) < 0 ? threshold + ".0" : threshold;
            // The GD0011 fix in Run, the GD0001 fix in FineTune (p90 unless the watch counted exploding steps above it).
            var comment = @" // (p90 of|recommended from) 40 measured steps, gradient-calibration\.json";
            Assert.Matches(@"\n\s+nn\.utils\.clip_grad_norm_\(model\.parameters\(\), " + Regex.Escape(threshold) + @"\);" + comment, fixedTraining);
            Assert.Matches(@"\n\s+torch\.nn\.utils\.clip_grad_norm_\(model\.parameters\(\), " + Regex.Escape(threshold) + @"\);" + comment, fixedTraining);
            Assert.DoesNotContain(TinyClip, fixedTraining, StringComparison.Ordinal);
            output.WriteLine(string.Join("\n", fixedTraining.Split('\n').Where(line => line.Contains("clip_grad_norm_", StringComparison.Ordinal))));

            var third = Build(directory, projectFile);
            Assert.DoesNotContain("GD0001", third, StringComparison.Ordinal);
            Assert.DoesNotContain("GD0011", third, StringComparison.Ordinal);
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A build process that outlived the test can still hold a file; the OS temp cleaner takes the rest.
            }
        }
    }

    private static string Build(string directory, string projectFile)
    {
        var (exitCode, output) = Repository.Dotnet(directory, "build", projectFile, "-nodeReuse:false", "-tl:off", "-v:m");
        Assert.True(exitCode == 0, $"dotnet build failed:\n{output}");
        return output;
    }
}
