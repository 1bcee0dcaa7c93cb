using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace GradientDiagnostics.Testing;

/// <summary>Roslyn test harness for TorchSharp user code: .NET 8 reference assemblies plus the real TorchSharp.dll.</summary>
public static class TorchSharpReferences
{
    public static readonly ReferenceAssemblies Net80 = ReferenceAssemblies.Net.Net80;

    public static MetadataReference TorchSharp { get; } = MetadataReference.CreateFromFile(typeof(global::TorchSharp.torch).Assembly.Location);

    /// <summary>GradientDiagnostics.Runtime, which a watched project references (GD0010 speaks only there).</summary>
    public static MetadataReference Runtime { get; } = MetadataReference.CreateFromFile(typeof(global::GradientDiagnostics.GradientWatch).Assembly.Location);

    public static void AddTo(SolutionState state)
    {
        state.AdditionalReferences.Add(TorchSharp);
    }

    public static void AddRuntimeTo(SolutionState state)
    {
        state.AdditionalReferences.Add(Runtime);
    }
}

/// <summary>Verifies an analyzer over code that references TorchSharp.</summary>
public static class TorchSharpAnalyzerVerifier<TAnalyzer>
    where TAnalyzer : DiagnosticAnalyzer, new()
{
    public static DiagnosticResult Diagnostic(string id) => new(id, DiagnosticSeverity.Warning);

    public static Task VerifyAsync(string source, params DiagnosticResult[] expected) => VerifyAsync(source, editorConfig: null, expected);

    public static async Task VerifyAsync(string source, string? editorConfig, params DiagnosticResult[] expected)
    {
        var test = new Test { TestCode = source };
        if (editorConfig is not null)
        {
            test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", "root = true\n[*]\n" + editorConfig));
        }

        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync(CancellationToken.None);
    }

    /// <summary>Runs the analyzer over code without TorchSharp referenced (the rule must stay silent).</summary>
    public static async Task VerifyWithoutTorchSharpAsync(string source)
    {
        var test = new CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
        {
            TestCode = source,
            ReferenceAssemblies = TorchSharpReferences.Net80,
        };
        await test.RunAsync(CancellationToken.None);
    }

    public sealed class Test : CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
    {
        public Test()
        {
            ReferenceAssemblies = TorchSharpReferences.Net80;
            TorchSharpReferences.AddTo(TestState);
        }

        protected override ParseOptions CreateParseOptions() => new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.Diagnose);
    }
}

/// <summary>Verifies an analyzer and its code fix (including Fix All) over code that references TorchSharp.</summary>
public static class TorchSharpCodeFixVerifier<TAnalyzer, TCodeFix>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TCodeFix : CodeFixProvider, new()
{
    public static DiagnosticResult Diagnostic(string id) => new(id, DiagnosticSeverity.Warning);

    public static Task VerifyAsync(string source, string fixedSource) => VerifyAsync(source, fixedSource, editorConfig: null);

    public static async Task VerifyAsync(string source, string fixedSource, string? editorConfig, params DiagnosticResult[] expected)
    {
        var test = new Test { TestCode = source, FixedCode = fixedSource };
        if (editorConfig is not null)
        {
            test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", "root = true\n[*]\n" + editorConfig));
        }

        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync(CancellationToken.None);
    }

    public sealed class Test : CSharpCodeFixTest<TAnalyzer, TCodeFix, DefaultVerifier>
    {
        public Test()
        {
            ReferenceAssemblies = TorchSharpReferences.Net80;
            TorchSharpReferences.AddTo(TestState);
            TorchSharpReferences.AddTo(FixedState);
        }

        protected override ParseOptions CreateParseOptions() => new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.Diagnose);
    }
}
