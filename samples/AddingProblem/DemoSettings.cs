namespace AddingProblem;

/// <summary>The accepted values of <c>--model</c> (lower-cased on the command line).</summary>
public enum ModelChoice
{
    /// <summary>All three side by side: vanishing, exploding, and the recommended model that avoids both.</summary>
    All,

    /// <summary>The vanishing baseline: default-initialised tanh RNN (RiskyModel).</summary>
    Risky,

    /// <summary>The exploding baseline: ReLU RNN with recurrent weights 1.5·I (RiskyExplodingModel).</summary>
    Exploding,

    /// <summary>The clipped, orthogonally initialised LSTM (RecommendedModel).</summary>
    Recommended,
}

public enum OtlpProtocol
{
    Grpc,
    Http,
}

/// <summary>Everything the command line decides, validated.</summary>
public sealed record DemoSettings
{
    public required int Steps { get; init; }
    public required int SeqLen { get; init; }
    public required int Batch { get; init; }
    public required int Hidden { get; init; }
    public required int Seed { get; init; }
    public required double LearningRate { get; init; }
    public required double ClipNorm { get; init; }
    public required ModelChoice Models { get; init; }
    public required string ReportPath { get; init; }
    public string? CalibrationPath { get; init; }
    public required string RunId { get; init; }
    public Uri? OtlpEndpoint { get; init; }
    public OtlpProtocol OtlpProtocol { get; init; }
    public int? PrometheusPort { get; init; }
    public required string PrometheusHost { get; init; }
    public bool Dashboard { get; init; }
    public bool Hold { get; init; }

    public bool ExportsTelemetry => OtlpEndpoint is not null || PrometheusPort is not null || Dashboard;
}
