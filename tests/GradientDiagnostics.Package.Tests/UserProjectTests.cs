using System.Globalization;
using System.Text.RegularExpressions;
using GradientDiagnostics.Tests.Shared;

namespace GradientDiagnostics.Package.Tests;

/// <summary>
/// The runtime package as users get it: their own projects outside this repository, referencing packages from the
/// local feed only, build, load TorchSharp's native library on this machine and train with a watch attached.
/// </summary>
[Collection(PackedPackagesCollection.Name)]
public partial class UserProjectTests(PackedPackages package)
{
    private const string NeededVersion = "GLIBCXX_3.4.32";
    private static readonly bool MachineNeedsTheStep = !SystemLibstdcxx.Has(NeededVersion);

    private UserWorkspace Workspace => package.UserWorkspace;

    [Fact]
    public void A_console_app_with_TorchSharp_cpu_and_the_runtime_package_trains_and_prints_per_timestep_profiles()
    {
        var program = Workspace.BuiltProgram("CpuApp");
        AssertStepRanFor(Workspace.OutputFolder("CpuApp"), Workspace.BuildOutput);
        AssertOnlyTheFlagDiffersFromTheNuGetCache(Workspace.OutputFolder("CpuApp"));

        AssertTrainedWithProfiles(UserWorkspace.Run(program));
    }

    [Fact]
    public void A_console_app_with_TorchSharp_and_libtorch_cpu_linux_x64_trains_and_prints_per_timestep_profiles()
    {
        var program = Workspace.BuiltProgram("SplitApp");
        AssertStepRanFor(Workspace.OutputFolder("SplitApp"), Workspace.BuildOutput);

        AssertTrainedWithProfiles(UserWorkspace.Run(program));
    }

    [Fact]
    public void The_published_console_app_runs_and_the_step_patches_the_publish_folder_without_touching_the_build_output_again()
    {
        Workspace.BuiltProgram("CpuApp");
        var (exitCode, output) = Workspace.Publish;
        Assert.True(exitCode == 0, $"dotnet publish failed:\n{output}");
        AssertStepRanFor(Workspace.PublishFolder, output);
        // Idempotent: the build output, patched by the first build, is recognised and left alone.
        Assert.DoesNotContain($"weak in '{Workspace.OutputFolder("CpuApp")}", output, StringComparison.Ordinal);
        AssertOnlyTheFlagDiffersFromTheNuGetCache(Workspace.PublishFolder);

        AssertTrainedWithProfiles(UserWorkspace.Run(Path.Combine(Workspace.PublishFolder, "CpuApp.dll")));
    }

    [Fact]
    public void An_app_that_gets_the_runtime_package_only_through_a_class_library_trains_and_prints_per_timestep_profiles()
    {
        var program = Workspace.BuiltProgram("LibraryApp");
        AssertStepRanFor(Workspace.OutputFolder("LibraryApp"), Workspace.BuildOutput);

        AssertTrainedWithProfiles(UserWorkspace.Run(program));
    }

    [Fact]
    public void With_the_step_turned_off_EnsureLoaded_names_the_missing_GLIBCXX_version_and_the_fix()
    {
        var program = Workspace.BuiltProgram("CompatOffApp");
        Assert.DoesNotContain($"weak in '{Workspace.OutputFolder("CompatOffApp")}", Workspace.BuildOutput, StringComparison.Ordinal);
        // The build already says the copy will not load here (GDN002); only projects with the step turned off hear it.
        var compatOff = BuildWarnings("GDN002");
        Assert.Equal(MachineNeedsTheStep ? new[] { Workspace.ProjectFile("CompatOffApp") } : Array.Empty<string>(), compatOff.Select(w => w.Project).Distinct());
        Assert.All(compatOff, w => Assert.Contains(NeededVersion, w.Text, StringComparison.Ordinal));

        var (exitCode, output) = UserWorkspace.Run(program);

        if (!MachineNeedsTheStep)
        {
            AssertTrainedWithProfiles((exitCode, output));
            return;
        }

        Assert.NotEqual(0, exitCode);
        Assert.Contains($"asks for {NeededVersion}", output, StringComparison.Ordinal);
        Assert.Matches(@"provides only up to GLIBCXX_3\.4\.\d+", output);
        Assert.Contains("remove <TorchSharpNativeCompatEnabled>false</TorchSharpNativeCompatEnabled>", output, StringComparison.Ordinal);
        AssertNotTorchSharpsMessage(output, Workspace.OutputFolder("CompatOffApp"));
    }

    [Fact]
    public void Without_a_LibTorch_package_the_build_warns_GDN001_naming_the_packages_to_add_unless_suppressed()
    {
        Workspace.BuiltProgram("NoLibTorchApp");
        Workspace.BuiltProgram("NoLibTorchQuietApp");

        var warnings = BuildWarnings("GDN001");
        var warning = Assert.Single(warnings.Select(w => w.Project).Distinct());
        Assert.Equal(Workspace.ProjectFile("NoLibTorchApp"), warning);
        var text = warnings[0].Text;
        Assert.Contains($"TorchSharp-cpu {UserWorkspace.TorchSharpVersion}", text, StringComparison.Ordinal);
        Assert.Contains("libtorch-cpu-linux-x64", text, StringComparison.Ordinal);
        Assert.Contains("NoWarn", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_LibTorch_package_EnsureLoaded_names_the_package_to_add()
    {
        var program = Workspace.BuiltProgram("NoLibTorchApp");

        var (exitCode, output) = UserWorkspace.Run(program);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("LibTorch is missing", output, StringComparison.Ordinal);
        Assert.Contains($"add a PackageReference to libtorch-cpu-linux-x64 {UserWorkspace.LibTorchVersion}", output, StringComparison.Ordinal);
        Assert.Contains($"TorchSharp-cpu {UserWorkspace.TorchSharpVersion}", output, StringComparison.Ordinal);
        AssertNotTorchSharpsMessage(output, Workspace.OutputFolder("NoLibTorchApp"));
    }

    [Fact]
    public void AddGradientDiagnostics_subscribes_a_newer_OpenTelemetry_SDK_than_the_package_was_built_with()
    {
        var program = Workspace.BuiltProgram("SdkApp");

        var (exitCode, output) = UserWorkspace.Run(program);

        AssertTrainedWithProfiles((exitCode, output));
        AssertExportedThroughTheSdk(output);
    }

    [Fact]
    public void AddGradientDiagnostics_exports_from_a_net8_app_whose_OpenTelemetry_SDK_brings_the_netstandard_DiagnosticSource()
    {
        // OpenTelemetry 1.21 depends on System.Diagnostics.DiagnosticSource 11, which has no net8.0 build: a .NET 8 app
        // loads its netstandard2.0 build, whose init-only setters differ in signature from the net8.0 build the
        // package compiles against (see BucketAdvice).
        var program = Workspace.BuiltProgram("Net8SdkApp", UserWorkspace.Net8);

        var (exitCode, output) = UserWorkspace.Run(program, new Dictionary<string, string> { ["DOTNET_ROLL_FORWARD"] = "Major" });

        AssertTrainedWithProfiles((exitCode, output));
        AssertExportedThroughTheSdk(output);
    }

    private static void AssertExportedThroughTheSdk(string output)
    {
        Assert.Matches($@"(?m)^sdk {Regex.Escape(UserWorkspace.OpenTelemetrySdkVersion)}", output);
        foreach (var instrument in new[] { "gradient.norm unit=1", "gradient.global_norm unit=1", "gradient.timestep.norm unit=1", "gradient.step unit={step}" })
        {
            Assert.Contains("metric " + instrument, output, StringComparison.Ordinal);
        }

        Assert.Contains($"spans {UserPrograms.Steps} gradient.record", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_that_invokes_its_LSTM_with_forward_gets_GD0010_at_build_time_and_a_non_empty_Unprofiled_when_trained()
    {
        var program = Workspace.BuiltProgram("ForwardApp");

        Assert.True(File.Exists(Workspace.ForwardAppSarif), $"ForwardApp's build wrote no SARIF log:\n{Workspace.BuildOutput}");
        var sarif = SarifLog.Load(Workspace.ForwardAppSarif);
        var forwardLine = UserPrograms.ForwardTraining.Split('\n').ToList().FindIndex(line => line.Contains(UserPrograms.LstmForward, StringComparison.Ordinal)) + 1;
        var reported = Assert.Single(sarif.Results, r => r.RuleId == "GD0010");
        Assert.Equal("note", reported.Level);
        Assert.Contains("'lstm' is invoked with forward(...)", reported.Message, StringComparison.Ordinal);
        var location = Assert.Single(reported.Locations);
        Assert.EndsWith("/ForwardApp/Training.cs", location.Uri, StringComparison.Ordinal);
        Assert.Equal(forwardLine, location.StartLine);
        Assert.Contains(sarif.Rules, rule => rule.Id == "GD0010" && rule.HelpUri == ShippedRules.HelpLink("GD0010"));

        var (exitCode, output) = UserWorkspace.Run(program);

        Assert.True(exitCode == 0, $"The program failed (exit code {exitCode}):\n{output}");
        Assert.DoesNotMatch(ProfileLine(), output);
        var unprofiled = Regex.Matches(output, @"(?m)^step (?<step>\d+) unprofiled: (?<modules>.+?)\r?$").ToList();
        Assert.True(
            unprofiled.Select(m => int.Parse(m.Groups["step"].Value, CultureInfo.InvariantCulture)).SequenceEqual(Enumerable.Range(1, UserPrograms.Steps)),
            $"Expected the LSTM listed as unprofiled at every step 1..{UserPrograms.Steps}:\n{output}");
        Assert.All(unprofiled, m => Assert.Equal("lstm", m.Groups["modules"].Value));
    }

    /// <summary>The build log's warnings with <paramref name="code"/>: the project each is reported against, and its text.</summary>
    private List<(string Project, string Text)> BuildWarnings(string code) =>
        Regex.Matches(Workspace.BuildOutput, $@"(?m)^\s*(?<project>\S+\.csproj)(?:\(\d+,\d+\))? : warning {code}: (?<text>.+?)(?: \[\S+\])?\r?$")
            .Select(m => (m.Groups["project"].Value, m.Groups["text"].Value))
            .ToList();

    /// <summary>One profile of the model's LSTM per step, a finite, positive gradient norm for every timestep.</summary>
    internal static void AssertTrainedWithProfiles((int ExitCode, string Output) run)
    {
        Assert.True(run.ExitCode == 0, $"The program failed (exit code {run.ExitCode}):\n{run.Output}");
        var profiles = ProfileLine().Matches(run.Output).ToList();
        Assert.True(
            profiles.Select(m => int.Parse(m.Groups["step"].Value, CultureInfo.InvariantCulture)).SequenceEqual(Enumerable.Range(1, UserPrograms.Steps)),
            $"Expected one profile per step 1..{UserPrograms.Steps}:\n{run.Output}");
        foreach (var profile in profiles)
        {
            Assert.Equal("lstm", profile.Groups["module"].Value);
            var norms = profile.Groups["norms"].Value.Split(' ').Select(n => double.Parse(n, CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(UserPrograms.SequenceLength, norms.Count);
            Assert.All(norms, n => Assert.True(double.IsFinite(n) && n > 0, $"step {profile.Groups["step"].Value}: norm {n}\n{run.Output}"));
        }
    }

    /// <summary>Where the machine's libstdc++ lacks the version, the build log names the patched copy in <paramref name="folder"/>.</summary>
    private static void AssertStepRanFor(string folder, string log)
    {
        var patched = $"GradientDiagnostics: marked {NeededVersion} weak in '{folder}/";
        if (MachineNeedsTheStep)
        {
            Assert.True(log.Contains(patched, StringComparison.Ordinal), $"The build log does not say that the copy in {folder} was patched:\n{log}");
        }
        else
        {
            Assert.DoesNotContain(patched, log, StringComparison.Ordinal);
        }
    }

    /// <summary>The copy differs from the NuGet cache's in one byte at most, the version flag; the cache keeps its original.</summary>
    private static void AssertOnlyTheFlagDiffersFromTheNuGetCache(string folder)
    {
        var copy = Assert.Single(Directory.GetFiles(folder, "libLibTorchSharp.so", SearchOption.AllDirectories));
        var cached = Path.Combine(PackedPackages.GlobalPackagesFolder, "torchsharp", UserWorkspace.TorchSharpVersion, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var copyBytes = File.ReadAllBytes(copy);
        var cachedBytes = File.ReadAllBytes(cached);
        Assert.Equal(cachedBytes.Length, copyBytes.Length);
        var differences = Enumerable.Range(0, copyBytes.Length).Where(i => copyBytes[i] != cachedBytes[i]).ToList();
        if (!MachineNeedsTheStep)
        {
            Assert.Empty(differences);
            return;
        }

        // Elf64_Vernaux.vna_flags gains VER_FLG_WEAK (0x2) in the copy and lacks it in the cache.
        var offset = Assert.Single(differences);
        Assert.Equal(0, cachedBytes[offset] & 0x2);
        Assert.Equal(cachedBytes[offset] | 0x2, copyBytes[offset]);
    }

    private static void AssertNotTorchSharpsMessage(string output, string outputFolder)
    {
        Assert.DoesNotContain("doesn't contain a reference to", output, StringComparison.Ordinal);
        // TorchSharp's fallback would have copied every LibTorch library from the NuGet cache into the output's cpu folder.
        Assert.False(Directory.Exists(Path.Combine(outputFolder, "cpu")), $"TorchSharp's own loader ran and copied LibTorch into {outputFolder}/cpu");
    }

    [GeneratedRegex(@"^step (?<step>\d+) profile (?<module>\S+): (?<norms>.+?)\r?$", RegexOptions.Multiline)]
    private static partial Regex ProfileLine();
}
