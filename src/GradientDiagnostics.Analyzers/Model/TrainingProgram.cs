using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The one model of a compilation's training program that every rule reads: TorchSharp's symbols, source method bodies
/// and the helper call graph, training methods with their steps and loops, recurrent models, carried states (GD0002) and
/// module ownership and initialisation (GD0003/GD0004). Obtained once per compilation through <see cref="For"/>; every
/// part is computed lazily, when a rule first asks, and cached (thread-safe) with every option value that shaped it.
/// docs/analyzer-architecture.md describes how a rule consumes it.
/// </summary>
internal sealed class TrainingProgram
{
    private static readonly ConditionalWeakTable<Compilation, StrongBox<TrainingProgram?>> Programs = new();

    private readonly ConcurrentDictionary<(SyntaxTree Tree, int Start, GradientDiagnosticsOptions Options), StrongBox<TrainingMethod?>> trainingMethods = new();
    private readonly ConcurrentDictionary<CacheKey, StrongBox<IInvocationOperation?>> unclearedSteps = new();

    private readonly Lazy<TorchSharpSymbols> symbols;

    private TrainingProgram(Compilation compilation)
    {
        Compilation = compilation;
        symbols = new Lazy<TorchSharpSymbols>(() => TorchSharpSymbols.Resolve(compilation), LazyThreadSafetyMode.PublicationOnly);
        Bodies = new SourceBodies(compilation);
        Search = new SourceSearch(compilation);
        Reach = new HelperReach(Bodies, Search);
        Calls = new GradientCalls(this, Reach);
        TypeArguments = new TypeParameterArguments(this);
        Models = new RecurrentModels(compilation, this, Bodies, Reach);
        TrainingCallSites = new TrainingCallSites(this);
        StateCarries = new StateCarries(this);
        ModuleUse = new ModuleUse(this);
        Initialization = new ModuleInitialization(this);
        Paths = new TrainingPaths(this);
        Coverage = new WatchCoverage(this);
        Calibration = new CalibratedModels(this);
    }

    public Compilation Compilation { get; }

    /// <summary>Which files and member bodies a search across the compilation binds (text narrows, symbols decide).</summary>
    public SourceSearch Search { get; }

    /// <summary>Where a source method is called from code that runs backward().</summary>
    public TrainingCallSites TrainingCallSites { get; }

    /// <summary>GD0002: hidden states carried across backward() without detach.</summary>
    public StateCarries StateCarries { get; }

    /// <summary>GD0003/GD0004/GD0005: whether a recurrent module's creation is where the choice is made and matters.</summary>
    public ModuleUse ModuleUse { get; }

    /// <summary>GD0003/GD0004: whether a recurrent module is explicitly initialised on every path that creates it.</summary>
    public ModuleInitialization Initialization { get; }

    /// <summary>Whether code runs while a model trains (not under no_grad; in a training body, a module's forward, or what training calls).</summary>
    public TrainingPaths Paths { get; }

    /// <summary>GD0010: what the runtime watch can see (its type, packed-input origins, watches in scope, profile names).</summary>
    public WatchCoverage Coverage { get; }
    /// <summary>GD0001's fix and GD0011: the calibration-file entry of the model a step trains.</summary>
    public CalibratedModels Calibration { get; }

    /// <summary>TorchSharp's types, resolved when a rule first needs them (by then the compiler has bound the references).</summary>
    public TorchSharpSymbols Symbols => symbols.Value;

    public SourceBodies Bodies { get; }

    public HelperReach Reach { get; }

    /// <summary>Backward, clipping, clearing and detaching calls, through source helpers.</summary>
    public GradientCalls Calls { get; }

    /// <summary>The types the sources give a generic trainer's (or helper's) type parameter: what a <c>TModel model</c> stands for.</summary>
    public TypeParameterArguments TypeArguments { get; }

    /// <summary>Recurrent model types, and the model (and its type) each training step trains.</summary>
    public RecurrentModels Models { get; }

    /// <summary>The compilation's model; null when it does not reference TorchSharp (no rule registers anything then).</summary>
    public static TrainingProgram? For(Compilation compilation) =>
        Programs.GetValue(compilation, c => new StrongBox<TrainingProgram?>(TorchSharpSymbols.IsReferenced(c) ? new TrainingProgram(c) : null)).Value;

    /// <summary>True when the compilation references an assembly of that name (e.g. <c>GradientDiagnostics.Runtime</c>).</summary>
    public bool References(string assemblyName) => Compilation.ReferencedAssemblyNames.Any(identity => identity.Name == assemblyName);

    /// <summary>
    /// The whole bodies (each once) of the members whose text names one of <paramref name="memberWords"/>, in the files whose
    /// text names one of <paramref name="fileWords"/>. Top-level statements are one body: the entry point they make up.
    /// </summary>
    public IEnumerable<IOperation> BodiesMentioning(IReadOnlyCollection<string> fileWords, IReadOnlyCollection<string> memberWords, CancellationToken cancellationToken)
    {
        var seen = new HashSet<IOperation>();
        foreach (var tree in Search.TreesMentioning(fileWords, cancellationToken))
        {
            foreach (var member in SourceSearch.MembersMentioning(tree, memberWords, cancellationToken))
            {
                if (Bodies.Operation(member, cancellationToken)?.Root() is { } body && seen.Add(body))
                {
                    yield return body;
                }
            }
        }
    }

    /// <summary>The options in effect for a syntax tree.</summary>
    public static GradientDiagnosticsOptions Options(AnalyzerOptions options, SyntaxTree tree) =>
        GradientDiagnosticsOptions.Read(options.AnalyzerConfigOptionsProvider, tree);

    /// <summary>
    /// The training method of the body that <paramref name="operation"/> belongs to, or null — after one cheap walk — when
    /// the body has no <c>backward()</c> or no optimizer <c>step()</c>, as almost every body has not. Cached per body.
    /// </summary>
    public TrainingMethod? TrainingMethodOf(IOperation operation, GradientDiagnosticsOptions options, CancellationToken cancellationToken)
    {
        var root = operation.Root();
        var key = (root.Syntax.SyntaxTree, root.Syntax.SpanStart, options);
        if (trainingMethods.TryGetValue(key, out var known))
        {
            return known.Value;
        }

        // A body whose text never says backward cannot call it: most bodies are ruled out without walking their operations.
        var method = SourceWords.Mentions(root.Syntax.SyntaxTree, root.Syntax.Span, TorchSharpSymbols.BackwardNames) ? TrainingMethods.Build(this, root, options, cancellationToken) : null;
        return trainingMethods.GetOrAdd(key, new StrongBox<TrainingMethod?>(method)).Value;
    }

    /// <summary>The clipping calls that act on a step (between its backward() and step()), with their thresholds.</summary>
    public ImmutableArray<(IInvocationOperation Clip, IOperation? Threshold)> ClipsOf(TrainingMethod method, TrainingStep step) =>
        method.Clips.Where(clip => TrainingMethod.IsBetweenBackwardAndStep(clip, step)).Select(clip => (clip, Calls.ClipThreshold(clip))).ToImmutableArray();

    /// <summary>
    /// The optimizer <c>step()</c> that a call of <paramref name="method"/> runs once per call — backward() and step() outside
    /// any loop of the method, in it or in a source helper it calls outside loops — when nothing the method runs clears
    /// gradients; otherwise null. A loop that calls such a method is a training loop whose clearing must be in the loop.
    /// </summary>
    public IInvocationOperation? UnclearedStepOf(IMethodSymbol method, GradientDiagnosticsOptions options, CancellationToken cancellationToken) =>
        SourceBodies.IsSourceMethod(method)
            ? unclearedSteps.GetOrAdd(new CacheKey(method.OriginalDefinition, 0, options), key => new StrongBox<IInvocationOperation?>(
                Search.MayReach((IMethodSymbol)key.Symbol, TorchSharpSymbols.BackwardNames, cancellationToken)
                    ? TrainingMethods.UnclearedStep(this, (IMethodSymbol)key.Symbol, key.Options, new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default), cancellationToken)
                    : null)).Value
            : null;

    /// <summary>The invocations of TorchSharp recurrent modules (<c>call</c> or <c>forward</c>) in the body of <paramref name="operation"/>.</summary>
    public IEnumerable<IInvocationOperation> RecurrentModuleInvocations(IOperation operation) =>
        operation.Root().Invocations().Where(invocation =>
            Symbols.IsModuleInvocation(invocation.TargetMethod) && Symbols.IsRecurrentModule(invocation.Instance?.WithoutConversions().Type));
}
