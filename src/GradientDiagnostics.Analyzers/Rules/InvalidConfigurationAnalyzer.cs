using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD1000: a <c>gradient_diagnostics.*</c> option whose value cannot be read. Every rule reads its options per syntax
/// tree and falls back to the default on a bad value; this rule makes that fallback visible.
/// </summary>
/// <remarks>
/// Each distinct bad (key, value) is reported once per compilation, at the start of the first syntax tree (in
/// compilation order) whose options carry it, preferring hand-written files over generated ones. The order of
/// <see cref="Compilation.SyntaxTrees"/> is the project's Compile item order, so the location is deterministic
/// and the same in the IDE and on the command line. The .editorconfig file itself cannot be the location:
/// analyzers are not told which file or line a value came from.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class InvalidConfigurationAnalyzer : DiagnosticAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.InvalidConfiguration);

    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();

        // Unlike the other rules this one must see generated trees: the tree that owns a bad value is chosen over all
        // trees, and it has to be one that this analyzer's tree action actually runs on.
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.Analyze | GeneratedCodeAnalysisFlags.ReportDiagnostics);
        context.RegisterCompilationStartAction(start =>
        {
            // Options only change what the rules do, and the rules register nothing without TorchSharp.
            if (!TorchSharpSymbols.IsReferenced(start.Compilation))
            {
                return;
            }

            var compilation = start.Compilation;
            var provider = start.Options.AnalyzerConfigOptionsProvider;
            var owners = new Lazy<Dictionary<(string Key, string Value), SyntaxTree>>(
                () => AssignOwners(compilation, provider, start.CancellationToken),
                LazyThreadSafetyMode.PublicationOnly);

            start.RegisterSyntaxTreeAction(treeContext =>
            {
                var errors = GradientDiagnosticsOptions.Read(provider, treeContext.Tree).Errors;
                if (errors.IsEmpty)
                {
                    return;
                }

                foreach (var group in errors.GroupBy(e => (e.Key, e.Value)))
                {
                    if (owners.Value.TryGetValue(group.Key, out var owner) && owner == treeContext.Tree)
                    {
                        treeContext.ReportDiagnostic(Diagnostic.Create(
                            DiagnosticDescriptors.InvalidConfiguration,
                            Location.Create(treeContext.Tree, new TextSpan(0, 0)),
                            group.Key.Key,
                            group.Key.Value,
                            string.Join("; ", group.Select(e => e.Reason).Distinct())));
                    }
                }
            });
        });
    }

    private static Dictionary<(string Key, string Value), SyntaxTree> AssignOwners(Compilation compilation, AnalyzerConfigOptionsProvider provider, CancellationToken cancellationToken)
    {
        var handWritten = new Dictionary<(string, string), SyntaxTree>();
        var generated = new Dictionary<(string, string), SyntaxTree>();
        foreach (var tree in compilation.SyntaxTrees)
        {
            var errors = GradientDiagnosticsOptions.Read(provider, tree).Errors;
            if (errors.IsEmpty)
            {
                continue;
            }

            var owners = IsGenerated(compilation, tree, cancellationToken) ? generated : handWritten;
            foreach (var (key, value, _) in errors)
            {
                if (!owners.ContainsKey((key, value)))
                {
                    owners.Add((key, value), tree);
                }
            }
        }

        foreach (var pair in generated)
        {
            if (!handWritten.ContainsKey(pair.Key))
            {
                handWritten.Add(pair.Key, pair.Value);
            }
        }

        return handWritten;
    }

    /// <summary>The same tests Roslyn applies for <see cref="GeneratedCodeAnalysisFlags"/>: the generated_code option, then file name and header.</summary>
    private static bool IsGenerated(Compilation compilation, SyntaxTree tree, CancellationToken cancellationToken)
    {
        switch (compilation.Options.SyntaxTreeOptionsProvider?.IsGenerated(tree, cancellationToken))
        {
            case GeneratedKind.MarkedGenerated:
                return true;
            case GeneratedKind.NotGenerated:
                return false;
        }

        var fileName = Path.GetFileName(tree.FilePath ?? string.Empty);
        if (fileName.StartsWith("TemporaryGeneratedFile_", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var stem = Path.GetFileNameWithoutExtension(fileName);
        foreach (var suffix in new[] { ".designer", ".generated", ".g", ".g.i" })
        {
            if (stem.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        foreach (var trivia in tree.GetRoot(cancellationToken).GetLeadingTrivia())
        {
            if ((trivia.IsKind(SyntaxKind.SingleLineCommentTrivia) || trivia.IsKind(SyntaxKind.MultiLineCommentTrivia))
                && (trivia.ToString().IndexOf("<auto-generated", StringComparison.OrdinalIgnoreCase) >= 0
                    || trivia.ToString().IndexOf("<autogenerated", StringComparison.OrdinalIgnoreCase) >= 0))
            {
                return true;
            }
        }

        return false;
    }
}
