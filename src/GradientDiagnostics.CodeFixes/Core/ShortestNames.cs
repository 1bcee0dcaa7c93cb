using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// Writes a type or static method the shortest way that binds to it at a position, as a user would
/// (<c>nn.init</c> under <c>using static TorchSharp.torch</c>, <c>init</c> under <c>using static TorchSharp.torch.nn</c>,
/// <c>torch.nn.init</c> under <c>using TorchSharp</c>), falling back to the <c>global::</c>-qualified name.
/// </summary>
internal sealed class ShortestNames
{
    private readonly SemanticModel model;
    private readonly int position;
    private readonly CancellationToken cancellationToken;

    public ShortestNames(SemanticModel model, int position, CancellationToken cancellationToken)
    {
        this.model = model;
        this.position = position;
        this.cancellationToken = cancellationToken;
    }

    /// <summary>The shortest suffix of <paramref name="qualifiedName"/> (dotted) that binds to the type <paramref name="metadataName"/>.</summary>
    public string Type(string metadataName, string qualifiedName)
    {
        var type = model.Compilation.GetTypeByMetadataName(metadataName);
        var parts = qualifiedName.Split('.');
        for (var skip = parts.Length - 1; skip >= 0 && type is not null; skip--)
        {
            var candidate = string.Join(".", parts, skip, parts.Length - skip);
            var bound = model.GetSpeculativeTypeInfo(position, SyntaxFactory.ParseTypeName(candidate), SpeculativeBindingOption.BindAsTypeOrNamespace).Type;
            if (SymbolEqualityComparer.Default.Equals(bound, type))
            {
                return candidate;
            }
        }

        return "global::" + qualifiedName;
    }

    /// <summary>The method bare when it binds (<c>no_grad</c> under <c>using static TorchSharp.torch</c>), else qualified by its type's shortest name.</summary>
    public string StaticMethod(string typeMetadataName, string typeQualifiedName, string method)
    {
        var type = model.Compilation.GetTypeByMetadataName(typeMetadataName);
        var bare = model.GetSpeculativeSymbolInfo(position, SyntaxFactory.ParseExpression(method + "()"), SpeculativeBindingOption.BindAsExpression).Symbol;
        return bare is IMethodSymbol bound && SymbolEqualityComparer.Default.Equals(bound.ContainingType, type)
            ? method
            : Type(typeMetadataName, typeQualifiedName) + "." + method;
    }
}
