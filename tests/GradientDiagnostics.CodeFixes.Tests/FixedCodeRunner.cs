using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using TorchSharp;

namespace GradientDiagnostics.CodeFixes.Tests;

/// <summary>Compiles the code a fix produced against the real TorchSharp and runs it, to show the fix does what it says.</summary>
internal static class FixedCodeRunner
{
    public static torch.nn.Module<torch.Tensor, torch.Tensor> CreateModel(string source, string typeName, params object[] arguments)
    {
        var assembly = Compile(source);
        var type = assembly.GetType(typeName) ?? throw new ArgumentException($"The fixed code declares no type '{typeName}'.", nameof(typeName));
        var instance = Activator.CreateInstance(type, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, binder: null, arguments, culture: null);
        return instance as torch.nn.Module<torch.Tensor, torch.Tensor>
            ?? throw new ArgumentException($"'{typeName}' is not a Module<Tensor, Tensor>.", nameof(typeName));
    }

    private static Assembly Compile(string source)
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var references = platform.Select(path => MetadataReference.CreateFromFile(path))
            .Append(MetadataReference.CreateFromFile(typeof(torch).Assembly.Location));
        var compilation = CSharpCompilation.Create(
            "FixedCode" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest))],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        if (!result.Success)
        {
            var errors = string.Join(Environment.NewLine, result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error));
            throw new InvalidOperationException("The fixed code does not compile:" + Environment.NewLine + errors);
        }

        return Assembly.Load(image.ToArray());
    }
}
