using System.Globalization;
using System.Text.Json.Nodes;

namespace AddingProblem;

/// <summary>
/// <c>--calibration &lt;path&gt;</c>: after training every watched model writes its entry (the measured quantiles of its
/// pre-clip gradient norm and the recommended clip threshold) into that file; <see cref="OptionChecks"/> checks the path
/// before training.
/// </summary>
public static class CalibrationOutput
{
    public const string Option = "--calibration";

    /// <summary>
    /// Writes every model's entry and prints what was written. A model whose run gave nothing to calibrate (e.g. it
    /// diverged) is reported and skipped; a file that cannot be written ends with exit code 1.
    /// </summary>
    public static int Write(string path, IEnumerable<ModelTraining> trainings)
    {
        var written = new List<string>();
        foreach (var training in trainings)
        {
            try
            {
                training.WriteCalibration(path);
                written.Add(training.Name);
            }
            catch (InvalidOperationException exception)
            {
                Console.WriteLine($"Calibration of {training.Name} not written: {exception.Message}");
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or InvalidDataException)
            {
                Console.Error.WriteLine($"{Option}: cannot write '{path}': {exception.Message}");
                return 1;
            }
        }

        if (written.Count > 0)
        {
            var models = JsonNode.Parse(File.ReadAllText(path))!["models"]!.AsArray();
            var summary = models.Where(m => written.Contains((string?)m!["model"] ?? ""))
                .Select(m => string.Create(CultureInfo.InvariantCulture, $"{(string?)m!["model"]} {(double)m["recommendedClipNorm"]!:G3} ({(long)m["steps"]!} steps)"));
            Console.WriteLine($"Calibration: {Path.GetFullPath(path)} — recommended clip norm {string.Join(", ", summary)}");
        }

        return 0;
    }
}
