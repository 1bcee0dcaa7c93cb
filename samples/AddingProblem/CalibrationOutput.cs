using System.Globalization;
using System.Text.Json.Nodes;

namespace AddingProblem;

/// <summary>
/// <c>--calibration &lt;path&gt;</c>: the path is checked before training, and after training every watched model writes its
/// entry (the measured quantiles of its pre-clip gradient norm and the recommended clip threshold) into that file.
/// </summary>
public static class CalibrationOutput
{
    public const string Option = "--calibration";

    /// <summary>Why <paramref name="path"/> cannot take the calibration file, or null when it can.</summary>
    public static string? Problem(string path)
    {
        string fullPath;
        try
        {
            fullPath = Path.GetFullPath(path);
        }
        catch (Exception exception) when (exception is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return $"'{path}' is not a file path: {exception.Message}";
        }

        if (Directory.Exists(fullPath))
        {
            return $"'{path}' is a folder; give a file path such as '{Path.Combine(path, "gradient-calibration.json")}'";
        }

        // The folders that do not exist yet are created when the file is written; the deepest one that exists must be a
        // folder we can write in.
        var existing = Path.GetDirectoryName(fullPath);
        while (existing is not null && !Directory.Exists(existing))
        {
            if (File.Exists(existing))
            {
                return $"'{existing}' is a file, so '{path}' cannot be created inside it";
            }

            existing = Path.GetDirectoryName(existing);
        }

        if (existing is null)
        {
            return $"no folder of '{path}' exists";
        }

        try
        {
            using var probe = new FileStream(Path.Combine(existing, $".gradient-calibration-probe-{Guid.NewGuid():N}"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return $"cannot write in '{existing}': {exception.Message}";
        }

        return null;
    }

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
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException)
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
