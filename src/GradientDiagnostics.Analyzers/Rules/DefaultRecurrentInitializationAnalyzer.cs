using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0003 (vanilla <c>RNN</c>/<c>RNNCell</c>, Warning) and GD0004 (<c>LSTM</c>/<c>GRU</c>/<c>LSTMCell</c>/<c>GRUCell</c>, Info):
/// a recurrent module whose weights are never explicitly initialised or loaded. Both rules share this detection.
/// </summary>
/// <remarks>
/// A module created in a constructor (or a field initialiser) must be initialised on every accessible way of
/// constructing its model: each non-private constructor that runs the creation must reach an initialisation or a load,
/// itself, through <c>this(...)</c> or through the helpers it calls. A non-constructor member of the owning type that
/// initialises or loads (a <c>ResetParameters()</c>, a <c>Load(path)</c>) is trusted to be called.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DefaultRecurrentInitializationAnalyzer : GradientDiagnosticsAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        DiagnosticDescriptors.DefaultVanillaRnnInitialization,
        DiagnosticDescriptors.DefaultGatedRnnInitialization);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program)
    {
        var symbols = program.Symbols;
        var bodies = program.Bodies;
        var ownership = new ModuleParameterOwnership(symbols, bodies);
        var initialisedElsewhere = new ModelsInitializedElsewhere(context.Compilation, symbols, bodies, ownership);
        context.RegisterOperationAction(
            operationContext => Analyze(operationContext, symbols, bodies, ownership, initialisedElsewhere),
            OperationKind.Invocation,
            OperationKind.ObjectCreation);
    }

    private static void Analyze(
        OperationAnalysisContext context,
        TorchSharpSymbols symbols,
        SourceBodies bodies,
        ModuleParameterOwnership ownership,
        ModelsInitializedElsewhere initialisedElsewhere)
    {
        var creation = RecurrentModuleCreation.TryCreate(context.Operation, symbols);
        if (creation is null || context.ContainingSymbol.ContainingType is not { } owner)
        {
            return;
        }

        var options = GradientDiagnosticsOptions.Read(context.Options.AnalyzerConfigOptionsProvider, context.Operation.Syntax.SyntaxTree);
        var search = new InitializationSearch(symbols, bodies, ownership, creation, owner, options.InitMethods, context.CancellationToken);
        var uncovered = search.FindUninitializedPath(context.ContainingSymbol, RootOf(context.Operation));
        if (uncovered is null
            || (symbols.IsModule(owner) && initialisedElsewhere.Contains(owner, options.InitMethods, context.CancellationToken)))
        {
            return;
        }

        var vanilla = symbols.IsVanillaRecurrentModule(creation.ModuleType);
        var descriptor = vanilla ? DiagnosticDescriptors.DefaultVanillaRnnInitialization : DiagnosticDescriptors.DefaultGatedRnnInitialization;
        var arguments = vanilla
            ? new object[] { creation.DisplayName }
            : new object[] { creation.DisplayName, symbols.IsLstmModule(creation.ModuleType) ? " and a forget-gate bias of 1" : string.Empty };
        var additional = uncovered.Value.Constructors.SelectMany(constructor => constructor.Locations.Where(location => location.IsInSource).Take(1));
        context.ReportDiagnostic(Diagnostic.Create(descriptor, context.Operation.Syntax.GetLocation(), additional, arguments));
    }

    private static IOperation RootOf(IOperation operation)
    {
        while (operation.Parent is { } parent)
        {
            operation = parent;
        }

        return operation;
    }

    /// <summary>
    /// The module is created without being initialised. <see cref="Constructors"/> lists the constructors that miss the
    /// initialisation when another constructor has it (they become the diagnostic's additional locations, and the fix's targets).
    /// </summary>
    private readonly struct UninitializedPath
    {
        public UninitializedPath(ImmutableArray<IMethodSymbol> constructors) => Constructors = constructors;

        public ImmutableArray<IMethodSymbol> Constructors { get; }
    }

    private sealed class InitializationSearch
    {
        private readonly TorchSharpSymbols symbols;
        private readonly SourceBodies bodies;
        private readonly ModuleParameterOwnership ownership;
        private readonly RecurrentModuleCreation creation;
        private readonly INamedTypeSymbol owner;
        private readonly INamedTypeSymbol? model;
        private readonly ImmutableArray<string> initMethods;
        private readonly CancellationToken cancellationToken;
        private readonly HashSet<ISymbol> storages = new(SymbolEqualityComparer.Default);

        public InitializationSearch(
            TorchSharpSymbols symbols,
            SourceBodies bodies,
            ModuleParameterOwnership ownership,
            RecurrentModuleCreation creation,
            INamedTypeSymbol owner,
            ImmutableArray<string> initMethods,
            CancellationToken cancellationToken)
        {
            this.symbols = symbols;
            this.bodies = bodies;
            this.ownership = ownership;
            this.creation = creation;
            this.owner = owner;
            model = symbols.IsModule(owner) ? owner : null;
            this.initMethods = initMethods;
            this.cancellationToken = cancellationToken;
            if (creation.Storage is not null)
            {
                storages.Add(creation.Storage);
            }
        }

        public UninitializedPath? FindUninitializedPath(ISymbol member, IOperation creationRoot)
        {
            AddContainersOfLocal(creationRoot);
            if (member is IMethodSymbol { MethodKind: MethodKind.Constructor } || member is IFieldSymbol || member is IPropertySymbol)
            {
                return FindUninitializedConstructor(member as IMethodSymbol);
            }

            if (Reaches(creationRoot, member.IsStatic ? ModuleRoot.Unknown : ModuleRoot.This(owner))
                || OtherMembersReach(member, includeConstructors: true))
            {
                return null;
            }

            return new UninitializedPath(ImmutableArray<IMethodSymbol>.Empty);
        }

        private UninitializedPath? FindUninitializedConstructor(IMethodSymbol? creatingConstructor)
        {
            var running = ConstructorsRunning(creatingConstructor);
            var entries = running.Where(constructor => constructor.DeclaredAccessibility != Accessibility.Private).ToList();
            if (entries.Count == 0)
            {
                entries = running;
            }

            var uncovered = entries.Where(constructor => !ConstructorReaches(constructor)).ToList();
            if (uncovered.Count == 0 || OtherMembersReach(creatingConstructor, includeConstructors: false))
            {
                return null;
            }

            // Point at the constructors that miss initialisation only when another way of constructing the model has it.
            return new UninitializedPath(uncovered.Count < entries.Count ? uncovered.ToImmutableArray() : ImmutableArray<IMethodSymbol>.Empty);
        }

        /// <summary>The constructors that run the creation: the creating one and those chaining to it with this(...); every one for a field initialiser.</summary>
        private List<IMethodSymbol> ConstructorsRunning(IMethodSymbol? creatingConstructor)
        {
            if (creatingConstructor is null)
            {
                return owner.InstanceConstructors.ToList();
            }

            var running = new List<IMethodSymbol> { creatingConstructor };
            for (var added = true; added;)
            {
                added = false;
                foreach (var constructor in owner.InstanceConstructors)
                {
                    if (!running.Contains(constructor, SymbolEqualityComparer.Default)
                        && ChainedConstructor(constructor) is { } chained
                        && running.Contains(chained, SymbolEqualityComparer.Default))
                    {
                        running.Add(constructor);
                        added = true;
                    }
                }
            }

            return running;
        }

        private IMethodSymbol? ChainedConstructor(IMethodSymbol constructor) =>
            bodies.Of(constructor, cancellationToken)
                .OfType<IConstructorBodyOperation>()
                .Select(body => body.Initializer?.DescendantsAndSelf().OfType<IInvocationOperation>().FirstOrDefault()?.TargetMethod)
                .FirstOrDefault(target => target is not null && SymbolEqualityComparer.Default.Equals(target.ContainingType, owner));

        private bool ConstructorReaches(IMethodSymbol constructor) =>
            bodies.Of(constructor, cancellationToken).Any(body => Reaches(body, ModuleRoot.This(owner)));

        /// <summary>Initialisation in another member of the owning type (a ResetParameters(), a Load(path)) is trusted to be called.</summary>
        private bool OtherMembersReach(ISymbol? except, bool includeConstructors)
        {
            foreach (var method in owner.GetMembers().OfType<IMethodSymbol>())
            {
                if (SymbolEqualityComparer.Default.Equals(method, except)
                    || (!includeConstructors && method.MethodKind == MethodKind.Constructor))
                {
                    continue;
                }

                var thisRoot = method.IsStatic ? ModuleRoot.Unknown : ModuleRoot.This(owner);
                if (bodies.Of(method, cancellationToken).Any(body => Reaches(body, thisRoot)))
                {
                    return true;
                }
            }

            return false;
        }

        private bool Reaches(IOperation body, ModuleRoot thisRoot) =>
            ownership.ReachesInitialization(body, owner, thisRoot, IsTarget, initMethods, cancellationToken);

        /// <summary>The module itself, what holds it, or (inside a model type) the model: initialising the whole model covers its recurrent submodules.</summary>
        private bool IsTarget(ModuleRoot root)
        {
            if (root.Symbol is not null && storages.Contains(root.Symbol))
            {
                return true;
            }

            if (model is null)
            {
                return false;
            }

            return SymbolEqualityComparer.Default.Equals(root.InstanceOf, model)
                || (root.Symbol is ILocalSymbol or IParameterSymbol && SymbolEqualityComparer.Default.Equals(ModelsInitializedElsewhere.TypeOf(root.Symbol), model));
        }

        /// <summary>A local that receives the module and then hands it on (this.rnn = rnn; register_module("rnn", rnn); nn.Sequential(("rnn", rnn))).</summary>
        private void AddContainersOfLocal(IOperation creationRoot)
        {
            if (creation.Storage is not ILocalSymbol local)
            {
                return;
            }

            foreach (var reference in creationRoot.Descendants().OfType<ILocalReferenceOperation>())
            {
                if (SymbolEqualityComparer.Default.Equals(reference.Local, local)
                    && RecurrentModuleCreation.FindStorage(reference, symbols).Storage is { } container)
                {
                    storages.Add(container);
                }
            }
        }

    }
}
