namespace GradientDiagnostics.Tests.Shared;

/// <summary>
/// Programs from Debian packages that end-to-end tests drive (chromium, prometheus). On a developer machine
/// without the package the test is skipped with a message saying what to install; in CI (CI=true), where
/// .ci/run installs them, a missing program fails the test instead of hiding it.
/// </summary>
internal static class ExternalTool
{
    public static bool InContinuousIntegration =>
        string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Returns the path of the program or skips (outside CI) / fails (in CI) the calling test.</summary>
    public static string Require(string path, string debianPackage)
    {
        if (File.Exists(path))
        {
            return path;
        }

        var message = $"{path} is missing; install the Debian package with `apt-get install -y {debianPackage}` (.ci/run does this in CI).";
        if (InContinuousIntegration)
        {
            throw new InvalidOperationException("CI=true and " + message);
        }

        Skip.If(true, message);
        return path;
    }
}
