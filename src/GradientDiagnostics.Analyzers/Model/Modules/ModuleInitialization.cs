using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// A recurrent module created without explicit initialisation on every path that creates it. <see cref="Constructors"/>
/// lists the constructors that miss it when another constructor has it (the diagnostic's additional locations, and the
/// fix's targets).
/// </summary>
internal readonly struct UninitializedPath
{
    public UninitializedPath(ImmutableArray<IMethodSymbol> constructors) => Constructors = constructors;

    public ImmutableArray<IMethodSymbol> Constructors { get; }
}

/// <summary>
/// GD0003/GD0004's judgement (DESIGN.md): a module is explicitly initialised when init or a load reaches its parameters on
/// every path that creates it — its constructor, or a helper or factory that path always calls. For a module of a model
/// type, every accessible constructor that runs the creation must initialise or load it (itself, through <c>this(...)</c>
/// or through the helpers it calls); failing that, every place in the compilation that creates the model must initialise
/// or load the new instance right there (<see cref="ModelCreationSites"/>). A method elsewhere that initialises or loads
/// (<c>ResetParameters()</c>, <c>LoadWeights(path)</c>, a resume-from-checkpoint branch) is optional and does not count.
/// </summary>
internal sealed class ModuleInitialization
{
    private readonly TrainingProgram program;

    public ModuleInitialization(TrainingProgram program)
    {
        this.program = program;
        Reach = new InitializationReach(program);
        CreationSites = new ModelCreationSites(program, Reach);
    }

    public InitializationReach Reach { get; }

    public ModelCreationSites CreationSites { get; }

    /// <summary>The path on which <paramref name="creation"/> (made in <paramref name="member"/>) keeps its default initialisation, or null.</summary>
    public UninitializedPath? FindUninitializedPath(RecurrentModuleCreation creation, ISymbol member, GradientDiagnosticsOptions options, CancellationToken cancellationToken)
    {
        if (member.ContainingType is not { } owner)
        {
            return null;
        }

        var judgement = new Judgement(this, creation, owner, options.InitMethods, cancellationToken);
        var creationRoot = creation.Operation.Root();
        judgement.AddContainersOfLocal(creationRoot);
        if (member is IMethodSymbol { MethodKind: MethodKind.Constructor } or IFieldSymbol or IPropertySymbol)
        {
            var path = judgement.FindUninitializedConstructors(member as IMethodSymbol);
            return path is null || (program.Symbols.IsModule(owner) && CreationSites.EveryCreationInitializes(owner, options, cancellationToken)) ? null : path;
        }

        return judgement.Reaches(creationRoot, member.IsStatic ? ModuleRoot.Unknown : ModuleRoot.This(owner), creation.Operation)
            ? null
            : new UninitializedPath(ImmutableArray<IMethodSymbol>.Empty);
    }

    /// <summary>The judgement of one creation: which storages stand for the module, which constructors run it.</summary>
    private sealed class Judgement
    {
        private readonly ModuleInitialization owner;
        private readonly RecurrentModuleCreation creation;
        private readonly INamedTypeSymbol type;
        private readonly INamedTypeSymbol? model;
        private readonly ImmutableArray<string> initMethods;
        private readonly CancellationToken cancellationToken;
        private readonly HashSet<ISymbol> storages = new(SymbolEqualityComparer.Default);

        public Judgement(ModuleInitialization owner, RecurrentModuleCreation creation, INamedTypeSymbol type, ImmutableArray<string> initMethods, CancellationToken cancellationToken)
        {
            this.owner = owner;
            this.creation = creation;
            this.type = type;
            model = owner.program.Symbols.IsModule(type) ? type : null;
            this.initMethods = initMethods;
            this.cancellationToken = cancellationToken;
            if (creation.Storage is not null)
            {
                storages.Add(creation.Storage);
            }
        }

        /// <summary>A local that receives the module and then hands it on (this.rnn = rnn; register_module("rnn", rnn); nn.Sequential(("rnn", rnn))).</summary>
        public void AddContainersOfLocal(IOperation creationRoot)
        {
            if (creation.Storage is not ILocalSymbol local)
            {
                return;
            }

            foreach (var reference in creationRoot.Descendants().OfType<ILocalReferenceOperation>())
            {
                if (SymbolEqualityComparer.Default.Equals(reference.Local, local)
                    && RecurrentModuleCreation.FindStorage(reference, owner.program.Symbols).Storage is { } container)
                {
                    storages.Add(container);
                }
            }
        }

        public UninitializedPath? FindUninitializedConstructors(IMethodSymbol? creatingConstructor)
        {
            var running = ConstructorsRunning(creatingConstructor);
            var entries = running.Where(constructor => constructor.DeclaredAccessibility != Accessibility.Private).ToList();
            if (entries.Count == 0)
            {
                entries = running;
            }

            var uncovered = entries.Where(constructor => !owner.program.Bodies.Of(constructor, cancellationToken).Any(body => Reaches(body, ModuleRoot.This(type)))).ToList();
            if (uncovered.Count == 0)
            {
                return null;
            }

            // Point at the constructors that miss initialisation only when another way of constructing the model has it.
            return new UninitializedPath(uncovered.Count < entries.Count ? uncovered.ToImmutableArray() : ImmutableArray<IMethodSymbol>.Empty);
        }

        public bool Reaches(IOperation body, ModuleRoot thisRoot, IOperation? from = null) =>
            owner.Reach.Reaches(body, type, thisRoot, IsTarget, initMethods, cancellationToken, from);

        /// <summary>The constructors that run the creation: the creating one and those chaining to it with this(...); every one for a field initialiser.</summary>
        private List<IMethodSymbol> ConstructorsRunning(IMethodSymbol? creatingConstructor)
        {
            if (creatingConstructor is null)
            {
                return type.InstanceConstructors.ToList();
            }

            var running = new List<IMethodSymbol> { creatingConstructor };
            for (var added = true; added;)
            {
                added = false;
                foreach (var constructor in type.InstanceConstructors)
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
            owner.program.Bodies.Of(constructor, cancellationToken)
                .OfType<IConstructorBodyOperation>()
                .Select(body => body.Initializer?.Invocations().FirstOrDefault()?.TargetMethod)
                .FirstOrDefault(target => target is not null && SymbolEqualityComparer.Default.Equals(target.ContainingType, type));

        /// <summary>The module itself, what holds it, or (inside a model type) the model: initialising the whole model covers its recurrent submodules.</summary>
        private bool IsTarget(ModuleRoot root) =>
            (root.Symbol is not null && storages.Contains(root.Symbol))
            || (model is not null && root.InstanceOf is not null && ModelCreationSites.IsOrDerives(root.InstanceOf, model));
    }
}
