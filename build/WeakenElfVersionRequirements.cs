// Compiled by RoslynCodeTaskFactory (see TorchSharp.NativeCompat.targets); netstandard2.0 API surface only.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenElfVersionRequirements : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    [Required]
    public ITaskItem[] Files { get; set; }

    [Required]
    public string Versions { get; set; }

    [Required]
    public string SystemLibraryName { get; set; }

    /// <summary>
    /// Change nothing; warn (GDN002) for every file that requires a version the system library lacks, so will not load on
    /// this machine. For a project that turned the step off (TorchSharpNativeCompatEnabled=false).
    /// </summary>
    public bool WarnOnly { get; set; }

    /// <summary>The project a warning is reported against (the user's, not this task's targets file in the NuGet cache).</summary>
    public string ProjectFile { get; set; }

    public override bool Execute()
    {
        var wanted = Versions.Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries).Select(v => v.Trim()).ToArray();
        var systemLibrary = FindSystemLibrary(SystemLibraryName);
        if (systemLibrary == null)
        {
            Log.LogMessage(MessageImportance.Normal, "GradientDiagnostics: no system {0} found; TorchSharp native libraries left as they are.", SystemLibraryName);
            return true;
        }

        var systemBytes = File.ReadAllBytes(systemLibrary);
        var missing = wanted.Where(v => IndexOf(systemBytes, Encoding.ASCII.GetBytes("\0" + v + "\0")) < 0).ToArray();
        if (missing.Length == 0)
        {
            Log.LogMessage(MessageImportance.Low, "GradientDiagnostics: {0} provides {1}; no patch needed.", systemLibrary, string.Join(", ", wanted));
            return true;
        }

        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                if (WarnOnly)
                {
                    WarnIfUnloadable(path, missing, systemLibrary);
                }
                else
                {
                    PatchFile(path, missing, systemLibrary);
                }
            }
            catch (Exception ex) when (WarnOnly && (ex is IOException || ex is UnauthorizedAccessException || ex is InvalidDataException))
            {
                // The step is off: a file it cannot read is not this build's problem.
                Log.LogMessage(MessageImportance.Normal, "GradientDiagnostics: could not read the version requirements of '{0}': {1}", path, ex.Message);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is InvalidDataException)
            {
                Log.LogError("GradientDiagnostics: could not mark {0} weak in '{1}': {2}", string.Join(", ", missing), path, ex.Message);
            }
        }

        return !Log.HasLoggedErrors;
    }

    private void WarnIfUnloadable(string path, string[] versions, string systemLibrary)
    {
        var bytes = File.ReadAllBytes(path);
        var strong = VersionRequirements(bytes, SystemLibraryName)
            .Where(entry => versions.Contains(entry.Name) && (BitConverter.ToUInt16(bytes, entry.FlagsOffset) & VerFlgWeak) == 0)
            .Select(entry => entry.Name)
            .Distinct()
            .ToList();
        if (strong.Count == 0)
        {
            return;
        }

        Log.LogWarning(
            null,
            "GDN002",
            null,
            ProjectFile,
            0,
            0,
            0,
            0,
            "GradientDiagnostics: TorchSharpNativeCompatEnabled is false and '{0}' requires {1}, which this machine's {2} lacks: TorchSharp cannot load when the program runs here. Remove <TorchSharpNativeCompatEnabled>false</TorchSharpNativeCompatEnabled> to let the build mark it weak in the copy, or, if the program only runs on machines with a newer libstdc++, add GDN002 to <NoWarn>.",
            path,
            string.Join(", ", strong),
            systemLibrary);
    }

    private void PatchFile(string path, string[] versions, string systemLibrary)
    {
        var bytes = File.ReadAllBytes(path);
        var patched = new List<string>();
        var already = new List<string>();
        foreach (var entry in VersionRequirements(bytes, SystemLibraryName))
        {
            if (!versions.Contains(entry.Name))
            {
                continue;
            }

            var flags = BitConverter.ToUInt16(bytes, entry.FlagsOffset);
            if ((flags & VerFlgWeak) != 0)
            {
                already.Add(entry.Name);
                continue;
            }

            var newFlags = BitConverter.GetBytes((ushort)(flags | VerFlgWeak));
            bytes[entry.FlagsOffset] = newFlags[0];
            bytes[entry.FlagsOffset + 1] = newFlags[1];
            patched.Add(entry.Name);
        }

        if (patched.Count == 0)
        {
            Log.LogMessage(MessageImportance.Low, "GradientDiagnostics: '{0}' already loads on this machine ({1}).", path, already.Count > 0 ? "weak: " + string.Join(", ", already) : "no such requirement");
            return;
        }

        // Write a new file and swap it in: the output copy may be a hard link into the NuGet cache,
        // and writing through it would change the cache.
        // The copy keeps the original's timestamp: the next incremental build's copy (SkipUnchangedFiles, compares size
        // and time) then sees an unchanged file and leaves the patched one in place instead of copying and patching again.
        var timestamp = File.GetLastWriteTimeUtc(path);
        var temporary = path + ".gdpatch";
        File.WriteAllBytes(temporary, bytes);
        File.Delete(path);
        File.Move(temporary, path);
        File.SetLastWriteTimeUtc(path, timestamp);
        Log.LogMessage(MessageImportance.High, "GradientDiagnostics: marked {0} weak in '{1}' ({2} lacks it).", string.Join(", ", patched), path, systemLibrary);
    }

    private struct Requirement
    {
        public string Name;
        public int FlagsOffset;
    }

    // ELF64 little-endian: walks .gnu.version_r (Elf64_Verneed / Elf64_Vernaux) for one needed file.
    private static IEnumerable<Requirement> VersionRequirements(byte[] elf, string neededFile)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
        {
            throw new InvalidDataException("not an ELF file");
        }

        if (elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException("not a 64-bit little-endian ELF file");
        }

        var sectionTable = checked((int)BitConverter.ToUInt64(elf, 0x28));
        int sectionSize = BitConverter.ToUInt16(elf, 0x3A);
        int sectionCount = BitConverter.ToUInt16(elf, 0x3C);
        var result = new List<Requirement>();
        for (var i = 0; i < sectionCount; i++)
        {
            var header = sectionTable + (i * sectionSize);
            if (BitConverter.ToUInt32(elf, header + 4) != ShtGnuVerneed)
            {
                continue;
            }

            var offset = checked((int)BitConverter.ToUInt64(elf, header + 0x18));
            var link = BitConverter.ToUInt32(elf, header + 0x28);
            var count = BitConverter.ToUInt32(elf, header + 0x2C);
            var strings = checked((int)BitConverter.ToUInt64(elf, sectionTable + ((int)link * sectionSize) + 0x18));

            var need = offset;
            for (var n = 0; n < count; n++)
            {
                int auxCount = BitConverter.ToUInt16(elf, need + 2);
                var file = ReadString(elf, strings + (int)BitConverter.ToUInt32(elf, need + 4));
                var aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
                for (var a = 0; a < auxCount; a++)
                {
                    if (file == neededFile)
                    {
                        result.Add(new Requirement { Name = ReadString(elf, strings + (int)BitConverter.ToUInt32(elf, aux + 8)), FlagsOffset = aux + 4 });
                    }

                    aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                }

                need += (int)BitConverter.ToUInt32(elf, need + 12);
            }
        }

        return result;
    }

    private static string ReadString(byte[] bytes, int start)
    {
        var end = Array.IndexOf(bytes, (byte)0, start);
        return Encoding.ASCII.GetString(bytes, start, end - start);
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (var i = 0; i <= haystack.Length - needle.Length; i++)
        {
            var j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j])
            {
                j++;
            }

            if (j == needle.Length)
            {
                return i;
            }
        }

        return -1;
    }

    private static string FindSystemLibrary(string name)
    {
        var directories = new List<string>();
        var fromEnvironment = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            directories.AddRange(fromEnvironment.Split(':'));
        }

        directories.AddRange(new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib" });
        return directories.Where(d => d.Length > 0).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }
}
