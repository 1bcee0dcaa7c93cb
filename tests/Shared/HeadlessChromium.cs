using Microsoft.Playwright;

namespace GradientDiagnostics.Tests.Shared;

/// <summary>
/// Debian's chromium driven by Playwright. No browser is downloaded (none can be here): Playwright launches
/// the system binary, headless, with everything that would phone home switched off.
/// </summary>
internal static class HeadlessChromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        var executable = ExternalTool.Require(ExecutablePath, "chromium");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = executable,
                Headless = true,
                Args = new[]
                {
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                },
            });
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }
}
