namespace GradientDiagnostics.Hooks;

/// <summary>What kind of recurrence a profile comes from; the remedies differ (a GRU has no forget gate).</summary>
internal enum RecurrentKind
{
    /// <summary><c>nn.RNN</c>, <c>RNNCell</c>, or a recurrence written by hand from other layers.</summary>
    Vanilla,

    /// <summary><c>nn.LSTM</c> or <c>LSTMCell</c>.</summary>
    Lstm,

    /// <summary><c>nn.GRU</c> or <c>GRUCell</c>.</summary>
    Gru,

    /// <summary>Gated, but LSTM and GRU cells mixed (tracked states of a model with both).</summary>
    Gated,
}
