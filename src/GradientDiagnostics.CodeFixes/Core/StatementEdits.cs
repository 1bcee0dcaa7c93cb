using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// Text-level statement edits shared by the fixes. Edits are made on the text, not by re-formatting the tree,
/// so the user's formatting survives untouched around the inserted or moved lines.
/// </summary>
internal static class StatementEdits
{
    /// <summary>
    /// The statement that <paramref name="expression"/> is the whole of (<c>loss.backward();</c>) or is declared by
    /// (<c>var norm = clip_grad_norm_(…);</c>), when it stands in a block or at top level; otherwise null (the fix is not offered).
    /// </summary>
    public static StatementSyntax? StandaloneStatement(SyntaxNode expression)
    {
        var node = expression;
        while (node.Parent is ParenthesizedExpressionSyntax or AwaitExpressionSyntax)
        {
            node = node.Parent;
        }

        StatementSyntax? statement = node.Parent switch
        {
            ExpressionStatementSyntax expressionStatement => expressionStatement,
            EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Variables.Count: 1, Parent: LocalDeclarationStatementSyntax declaration } } } => declaration,
            _ => null,
        };

        return statement?.Parent is BlockSyntax or GlobalStatementSyntax ? statement : null;
    }

    /// <summary>The node whose lines the statement occupies (the global statement for top-level code).</summary>
    public static SyntaxNode LineNode(StatementSyntax statement) => statement.Parent is GlobalStatementSyntax global ? global : statement;

    /// <summary>The whitespace before the first token on the line that holds <paramref name="position"/>.</summary>
    public static string IndentationAt(SourceText text, int position)
    {
        var line = text.Lines.GetLineFromPosition(position);
        var start = line.Start;
        var end = start;
        while (end < line.End && (text[end] == ' ' || text[end] == '\t'))
        {
            end++;
        }

        return text.ToString(TextSpan.FromBounds(start, end));
    }

    public static string NewLine(SourceText text) => text.ToString().Contains("\r\n") ? "\r\n" : "\n";

    /// <summary>A change that inserts <paramref name="line"/> (without indentation or newline) as a new line after <paramref name="statement"/>.</summary>
    public static TextChange InsertLineAfter(SourceText text, StatementSyntax statement, string line)
    {
        var node = LineNode(statement);
        var indentation = IndentationAt(text, node.SpanStart);
        var newLine = NewLine(text);
        var end = node.FullSpan.End;
        var endsWithNewLine = end > 0 && text[end - 1] == '\n';
        return new TextChange(new TextSpan(end, 0), (endsWithNewLine ? string.Empty : newLine) + indentation + line + newLine);
    }

    /// <summary>
    /// A change that inserts <paramref name="line"/> as a new line before a top-level statement: where its leading trivia
    /// starts, so comments and blank lines that lead the statement stay with it.
    /// </summary>
    public static TextChange InsertLineBefore(SourceText text, GlobalStatementSyntax statement, string line)
    {
        var start = statement.FullSpan.Start;
        var indentation = IndentationAt(text, statement.SpanStart);
        return text.Lines.GetLineFromPosition(start).Start == start
            ? new TextChange(new TextSpan(start, 0), indentation + line + NewLine(text))
            : new TextChange(new TextSpan(start, 0), NewLine(text) + indentation + line);
    }

    /// <summary>
    /// A change that inserts <paramref name="line"/> as a new line before statement <paramref name="index"/> of <paramref name="block"/>
    /// (after the last one when <paramref name="index"/> is their count): right after the previous statement's line, or after
    /// the opening brace, so comments and blank lines that lead the next statement stay with it.
    /// </summary>
    public static TextChange InsertLine(SourceText text, BlockSyntax block, int index, string line)
    {
        var newLine = NewLine(text);
        var statements = block.Statements;
        var indentation = statements.Count > 0
            ? IndentationAt(text, statements[index < statements.Count ? index : statements.Count - 1].SpanStart)
            : IndentationAt(text, block.OpenBraceToken.SpanStart) + "    ";
        var after = index > 0 ? statements[index - 1].Span.End : block.OpenBraceToken.Span.End;
        var afterLine = text.Lines.GetLineFromPosition(after);
        var next = index < statements.Count ? statements[index].SpanStart : block.CloseBraceToken.SpanStart;
        if (afterLine.End == after && afterLine.EndIncludingLineBreak <= next && afterLine.EndIncludingLineBreak > afterLine.End)
        {
            return new TextChange(new TextSpan(afterLine.EndIncludingLineBreak, 0), indentation + line + newLine);
        }

        return new TextChange(new TextSpan(after, 0), newLine + indentation + line);
    }

    /// <summary>The block body of a loop, method, accessor, local function or lambda.</summary>
    public static BlockSyntax? BodyBlock(SyntaxNode node) => node switch
    {
        ForStatementSyntax f => f.Statement as BlockSyntax,
        CommonForEachStatementSyntax f => f.Statement as BlockSyntax,
        WhileStatementSyntax w => w.Statement as BlockSyntax,
        DoStatementSyntax d => d.Statement as BlockSyntax,
        BaseMethodDeclarationSyntax m => m.Body,
        AccessorDeclarationSyntax a => a.Body,
        LocalFunctionStatementSyntax l => l.Body,
        AnonymousFunctionExpressionSyntax f => f.Block,
        _ => null,
    };

    /// <summary>
    /// True when every name <paramref name="expression"/> uses (checked in <paramref name="originalModel"/>) means the same
    /// symbol at <paramref name="position"/> of <paramref name="targetModel"/>, so the expression can be copied there.
    /// </summary>
    public static bool MeansTheSameAt(ExpressionSyntax expression, SemanticModel originalModel, SemanticModel targetModel, int position)
    {
        foreach (var identifier in expression.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
        {
            if (identifier.Parent is MemberAccessExpressionSyntax access && access.Name == identifier
                || identifier.Parent is MemberBindingExpressionSyntax
                || identifier.Parent is NameColonSyntax)
            {
                continue;
            }

            var symbol = originalModel.GetSymbolInfo(identifier).Symbol;
            if (symbol is null)
            {
                return false;
            }

            if (symbol.DeclaringSyntaxReferences.Any(reference => reference.SyntaxTree == expression.SyntaxTree && expression.Span.Contains(reference.Span)))
            {
                continue;
            }

            // A local is in scope in its whole block, but usable only after its declaration.
            if (symbol is ILocalSymbol && symbol.DeclaringSyntaxReferences.Any(reference => reference.SyntaxTree == targetModel.SyntaxTree && reference.Span.Start >= position))
            {
                return false;
            }

            var visible = targetModel.LookupSymbols(position, name: identifier.Identifier.ValueText);
            if (!visible.Any(candidate => SymbolEqualityComparer.Default.Equals(candidate, symbol) || SymbolEqualityComparer.Default.Equals(candidate.OriginalDefinition, symbol.OriginalDefinition)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when <paramref name="invocationText"/> binds, at <paramref name="position"/>, to a method satisfying <paramref name="isExpected"/>.</summary>
    public static bool BindsTo(SemanticModel model, int position, string invocationText, System.Func<IMethodSymbol, bool> isExpected)
    {
        var expression = SyntaxFactory.ParseExpression(invocationText);
        var info = model.GetSpeculativeSymbolInfo(position, expression, SpeculativeBindingOption.BindAsExpression);
        return info.Symbol is IMethodSymbol method && isExpected(method);
    }
}
