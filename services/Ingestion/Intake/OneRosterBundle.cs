using System.IO.Compression;

namespace Beacon.Ingestion.Intake;

/// <summary>What happened to one file of a OneRoster bundle, listed in the answer.</summary>
public sealed record BundleFile(string File, string Mode, string Use, int Rows);

/// <summary>
/// A OneRoster CSV bundle as SIS export it (1EdTech OneRoster 1.1 and 1.2): every file of the spec is accepted,
/// manifest.csv is read and honoured (oneroster.version; file.&lt;name&gt; = bulk | delta | absent), the files Beacon
/// uses are read and the rest are listed as not used. A file that is not part of either version is refused, so a
/// grades file sent to the wrong endpoint is not silently dropped.
/// </summary>
public sealed class OneRosterBundle
{
    /// <summary>The files Beacon reads (manifest.csv and roles.csv shape how the others are read).</summary>
    public static readonly IReadOnlySet<string> ReadFiles = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "manifest.csv", "orgs.csv", "users.csv", "roles.csv", "classes.csv", "enrollments.csv", "demographics.csv", "academicSessions.csv",
    };

    /// <summary>Every other file of OneRoster CSV 1.1 and 1.2.</summary>
    public static readonly IReadOnlySet<string> NotUsedFiles = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "categories.csv", "classResources.csv", "courses.csv", "courseResources.csv", "lineItems.csv",
        "resources.csv", "results.csv", "userProfiles.csv", "userResources.csv", "lineItemLearningObjectiveIds.csv",
        "lineItemScoreScales.csv", "resultLearningObjectiveIds.csv", "resultScoreScales.csv", "scoreScales.csv",
    };

    /// <summary>Zip entries beyond this many are refused (a bundle has at most 23 files).</summary>
    private const int MaxEntries = 64;

    public Dictionary<string, OneRosterImport.Table> Tables { get; } = new(StringComparer.OrdinalIgnoreCase);

    private readonly Dictionary<string, int> _notUsed = new(StringComparer.OrdinalIgnoreCase);

    public static bool IsSpecFile(string name) => ReadFiles.Contains(name) || NotUsedFiles.Contains(name);

    /// <summary>Adds one CSV of the bundle; null, or why the bundle is refused.</summary>
    public async Task<string?> AddAsync(string path, Stream body, CancellationToken ct)
    {
        var name = Path.GetFileName(path);
        if (!IsSpecFile(name))
        {
            return $"'{name}' is not a OneRoster 1.1 or 1.2 file; a bundle holds {string.Join(", ", ReadFiles.Concat(NotUsedFiles))}.";
        }
        var key = ReadFiles.Concat(NotUsedFiles).First(f => string.Equals(f, name, StringComparison.OrdinalIgnoreCase));
        if (ReadFiles.Contains(key))
        {
            Tables[key] = await OneRosterImport.ReadAsync(key, body, ct);
        }
        else
        {
            // Not read, but counted, so the answer says how many rows were acknowledged.
            using var reader = new StreamReader(body);
            var lines = 0;
            while (await reader.ReadLineAsync(ct) is not null)
            {
                lines++;
            }
            _notUsed[key] = Math.Max(0, lines - 1);
        }
        return null;
    }

    /// <summary>Every CSV in a zip (folders inside the zip are ignored); null, or why the zip is refused.</summary>
    public async Task<string?> AddZipAsync(Stream zip, long maxUncompressedBytes, CancellationToken ct)
    {
        ZipArchive archive;
        try
        {
            archive = await ZipArchive.CreateAsync(zip, ZipArchiveMode.Read, leaveOpen: true, entryNameEncoding: null, ct);
        }
        catch (InvalidDataException e)
        {
            return $"is not a readable zip file ({e.Message}).";
        }
        await using (archive)
        {
            var entries = archive.Entries.Where(e => !e.FullName.EndsWith('/')).ToList();
            if (entries.Count > MaxEntries)
            {
                return $"holds {entries.Count} entries; a OneRoster bundle has at most {ReadFiles.Count + NotUsedFiles.Count}.";
            }
            // The sizes the zip declares bound what is read: a small zip that inflates to gigabytes is refused first.
            if (entries.Sum(e => e.Length) > maxUncompressedBytes)
            {
                return $"inflates to more than {maxUncompressedBytes / (1024 * 1024)} MiB.";
            }
            foreach (var entry in entries.Where(e => !Path.GetFileName(e.FullName).StartsWith('.') && !e.FullName.StartsWith("__MACOSX/", StringComparison.Ordinal)))
            {
                try
                {
                    await using var stream = await entry.OpenAsync(ct);
                    if (await AddAsync(entry.FullName, stream, ct) is { } refused)
                    {
                        return refused;
                    }
                }
                catch (InvalidDataException e)
                {
                    return $"entry '{entry.FullName}' cannot be read ({e.Message}).";
                }
            }
        }
        return null;
    }

    private Dictionary<string, string>? _manifest;

    /// <summary>manifest.csv's properties (propertyName, value), e.g. oneroster.version and file.users; read once, after the files are added.</summary>
    public Dictionary<string, string> Manifest() => _manifest ??=
        (Tables.GetValueOrDefault("manifest.csv")?.Rows ?? [])
            .Where(r => r.Row.TryGetValue("propertyName", out var p) && p.Length > 0)
            .GroupBy(r => r.Row["propertyName"], StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Last().Row.GetValueOrDefault("value") ?? "", StringComparer.OrdinalIgnoreCase);

    /// <summary>The processing mode manifest.csv gives a file (bulk, delta, absent), or "" without a manifest.</summary>
    public string ModeOf(string file) =>
        Manifest().GetValueOrDefault("file." + Path.GetFileNameWithoutExtension(file))?.Trim().ToLowerInvariant() ?? "";

    /// <summary>
    /// Applies manifest.csv: a file it declares absent is not read even when present, and a file it declares bulk
    /// or delta but the bundle lacks is an error on manifest.csv. Returns what happened to each file.
    /// </summary>
    public List<BundleFile> HonourManifest(RowErrors errors)
    {
        var manifest = Manifest();
        var files = new List<BundleFile>();
        foreach (var (property, value) in manifest.Where(p => p.Key.StartsWith("file.", StringComparison.OrdinalIgnoreCase)))
        {
            var file = property["file.".Length..] + ".csv";
            var mode = value.Trim().ToLowerInvariant();
            var present = Tables.ContainsKey(file) || _notUsed.ContainsKey(file);
            if (mode is not ("bulk" or "delta" or "absent"))
            {
                errors.Add("manifest.csv", $"{property},{value}", property, $"'{value}' is not a processing mode; use bulk, delta or absent.");
            }
            else if (mode != "absent" && !present && IsSpecFile(file))
            {
                errors.Add("manifest.csv", $"{property},{value}", property, $"declares {file} as {mode} but the bundle has no {file}.");
            }
            else if (mode == "absent" && present)
            {
                files.Add(new BundleFile(file, mode, "declared absent in manifest.csv: not read", Tables.GetValueOrDefault(file)?.Rows.Count ?? _notUsed[file]));
                Tables.Remove(file);
                _notUsed.Remove(file);
            }
        }
        foreach (var (file, table) in Tables.Where(t => t.Key != "manifest.csv"))
        {
            files.Add(new BundleFile(file, ModeOf(file), "read", table.Rows.Count));
        }
        foreach (var (file, rows) in _notUsed)
        {
            files.Add(new BundleFile(file, ModeOf(file), "not used by Beacon", rows));
        }
        return [.. files.OrderBy(f => f.File, StringComparer.OrdinalIgnoreCase)];
    }
}
