using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Beacon.EarlyWarning.Domain;
using Beacon.EarlyWarning.Storage;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Governance;

/// <summary>Research:* settings. The key is the district's: never defaulted, never stored, never written anywhere but its fingerprint.</summary>
public sealed class ResearchOptions
{
    public const int MinimumKeyLength = 32;

    /// <summary>The secret the pseudonyms and date shifts are keyed with (at least <see cref="MinimumKeyLength"/> characters).</summary>
    public string? PseudonymKey { get; set; }

    /// <summary>Every date of a student is moved by one offset in [-DateShiftDays, +DateShiftDays], drawn from the keyed hash.</summary>
    public int DateShiftDays { get; set; } = 60;

    /// <summary>A count of rare events from 1 to this less one is reported as a range ("1-2" for 3).</summary>
    public int SmallCellThreshold { get; set; } = 3;

    /// <summary>Generalizing stops once the rows still below k are at most this share of the year; they are then suppressed.</summary>
    public double MaxSuppressedShare { get; set; } = 0.05;
}

public sealed record ExtractRequest(string? SchoolYear, int? K, string? Purpose, string? Recipient, string? Format);

/// <summary>An extract that cannot be made as things stand (no key, too few students): a 409 with the reason.</summary>
public sealed class ExtractRefusedException(string message) : Exception(message);

public sealed record Extract(ResearchExtractRow Audit, byte[] Zip);

/// <summary>
/// The research extract of a school year for a partner: the analyst profile's rows with the student id replaced by
/// HMAC-SHA256(district key, id), names dropped, every date moved by the student's own offset (from a second keyed hash, so
/// the pseudonym does not give it away; intervals are kept), the quasi-identifiers generalized to k-anonymity
/// (<see cref="KAnonymity"/>) and rows still below k suppressed, small counts as a range. The answer is a zip: the file, a
/// data-use note and a manifest; each extract leaves an audit record (<see cref="ResearchExtractRow"/>) in the same request.
/// </summary>
public sealed class ResearchExtracts(EarlyWarningDbContext db, StudentProfiles profiles, IOptions<ResearchOptions> options, TimeProvider clock)
{
    public static readonly string[] Formats = ["csv", "parquet"];

    public async Task<Dictionary<string, string[]>> ValidateAsync(ExtractRequest request, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.K is not (>= 2 and <= 1000))
        {
            errors["k"] = ["k must be a whole number from 2 to 1000 (each released combination of quasi-identifiers covers at least k students)."];
        }
        if (string.IsNullOrWhiteSpace(request.Purpose) || request.Purpose.Length > 1000)
        {
            errors["purpose"] = ["purpose is required (the study the data is for), at most 1000 characters."];
        }
        if (string.IsNullOrWhiteSpace(request.Recipient) || request.Recipient.Length > 200)
        {
            errors["recipient"] = ["recipient is required (the partner the data goes to), at most 200 characters."];
        }
        if (request.Format is { } format && !Formats.Contains(format))
        {
            errors["format"] = ["format must be 'csv' or 'parquet'."];
        }
        if (await SchoolYearErrorAsync(profiles, request.SchoolYear, ct) is { } year)
        {
            errors["schoolYear"] = [year];
        }
        return errors;
    }

    /// <summary>Why a school year cannot be exported, or null when it is one of the calendar's.</summary>
    public static async Task<string?> SchoolYearErrorAsync(StudentProfiles profiles, string? schoolYear, CancellationToken ct)
    {
        var years = await profiles.YearsAsync(ct);
        return !string.IsNullOrWhiteSpace(schoolYear) && years.Contains(schoolYear) ? null
            : years.Count == 0 ? "No school calendar has been received: the export is per school year of the district's calendar."
            : $"schoolYear must be a school year of the district's calendar: {string.Join(", ", years.Select(y => $"'{y}'"))}.";
    }

    /// <summary>Makes the extract of a validated request and stores its audit record.</summary>
    public async Task<Extract> CreateAsync(ExtractRequest request, string requestedBy, CancellationToken ct)
    {
        var settings = options.Value;
        if (string.IsNullOrEmpty(settings.PseudonymKey))
        {
            throw new ExtractRefusedException("No pseudonym key is configured (Research:PseudonymKey): the district must set its own secret before any extract is made.");
        }
        if (settings.PseudonymKey.Length < ResearchOptions.MinimumKeyLength)
        {
            throw new ExtractRefusedException($"The pseudonym key (Research:PseudonymKey) is shorter than {ResearchOptions.MinimumKeyLength} characters: too easy to guess.");
        }
        var key = Encoding.UTF8.GetBytes(settings.PseudonymKey);
        var (k, format) = (request.K!.Value, request.Format ?? "csv");
        var rows = new List<StudentProfile>();
        await foreach (var profile in profiles.YearAsync(request.SchoolYear!, ct))
        {
            rows.Add(profile);
        }
        if (rows.Count < k)
        {
            throw new ExtractRefusedException($"School year '{request.SchoolYear}' has {rows.Count} students, fewer than k = {k}: nothing could be released.");
        }

        var quasi = ProfileColumns.All.Where(c => c.Role == ColumnRole.QuasiIdentifier).ToList();
        var generalized = KAnonymity.Generalize([.. quasi.Select(c => c.Name)],
            [.. rows.Select(p => quasi.Select(c => c.Value(p) switch { null => KAnonymity.Unknown, bool b => b ? "true" : "false", var v => v.ToString()! }).ToArray())],
            k, settings.MaxSuppressedShare);
        var kept = ProfileColumns.All.Where(c => c.Role != ColumnRole.Identifier).ToList();
        TableColumn[] columns = [new("pseudonym", ColumnType.Text), .. kept.Select(c => c.Role is ColumnRole.QuasiIdentifier or ColumnRole.Count ? new TableColumn(c.Name, ColumnType.Text) : c.Table)];
        var released = new List<object?[]>(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            if (generalized.Suppressed[i])
            {
                continue;
            }
            var (profile, qi) = (rows[i], 0);
            var shift = Offset(key, profile.StudentId, settings.DateShiftDays);
            released.Add([Pseudonym(key, profile.StudentId), .. kept.Select(c => c.Role switch
            {
                ColumnRole.QuasiIdentifier => generalized.Rows[i][qi++],
                ColumnRole.Date => c.Value(profile) is DateOnly d ? d.AddDays(shift) : null,
                ColumnRole.Count => SmallCell((int)c.Value(profile)!, settings.SmallCellThreshold),
                _ => c.Value(profile),
            })]);
        }

        // In pseudonym order: the profile's order is the student ids', which a partner could otherwise read off the rows.
        released.Sort((a, b) => string.CompareOrdinal((string)a[0]!, (string)b[0]!));
        using var data = new MemoryStream();
        if (format == "parquet")
        {
            await TableFiles.WriteParquetAsync(data, columns, released.ToAsyncEnumerable(), ct);
        }
        else
        {
            await TableFiles.WriteCsvAsync(data, columns, released.ToAsyncEnumerable(), ct);
        }
        var audit = new ResearchExtractRow
        {
            ExtractId = Guid.NewGuid(),
            RequestedBy = requestedBy,
            RequestedAt = clock.GetUtcNow(),
            Purpose = request.Purpose!.Trim(),
            Recipient = request.Recipient!.Trim(),
            SchoolYear = request.SchoolYear!,
            Format = format,
            K = k,
            Rows = released.Count,
            Suppressed = generalized.SuppressedCount,
            GeneralizationsJson = JsonSerializer.Serialize(generalized.Steps),
            SmallestClass = generalized.SmallestClass,
            SmallCellThreshold = settings.SmallCellThreshold,
            DateShiftDays = settings.DateShiftDays,
            KeyFingerprint = Fingerprint(key),
            FileSha256 = Convert.ToHexStringLower(SHA256.HashData(data.ToArray())),
        };
        var zip = Zip(audit, generalized, quasi.Select(c => c.Name), columns, data.ToArray());
        db.ResearchExtracts.Add(audit);
        await db.SaveChangesAsync(ct);
        return new Extract(audit, zip);
    }

    /// <summary>The student's pseudonym: the same for one key, unlinkable to the id without it.</summary>
    public static string Pseudonym(byte[] key, string studentId) => Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"student:{studentId}")));

    /// <summary>
    /// The student's date offset in days, from its own keyed hash (not from the pseudonym, which the partner holds: an offset
    /// computable from it could be undone).
    /// </summary>
    public static int Offset(byte[] key, string studentId, int maxDays)
    {
        var hash = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"date-shift:{studentId}"));
        return maxDays <= 0 ? 0 : (int)(BinaryPrimitives.ReadUInt32BigEndian(hash) % (uint)(2 * maxDays + 1)) - maxDays;
    }

    /// <summary>Says which key made an extract's pseudonyms without saying anything of the key.</summary>
    public static string Fingerprint(byte[] key) => "hmac-sha256:" + Convert.ToHexStringLower(HMACSHA256.HashData(key, "beacon-research-key-fingerprint"u8))[..16];

    private static string SmallCell(int count, int threshold) =>
        count == 0 || count >= threshold ? count.ToString(System.Globalization.CultureInfo.InvariantCulture) : threshold == 2 ? "1" : $"1-{threshold - 1}";

    private static byte[] Zip(ResearchExtractRow audit, KAnonymityResult generalized, IEnumerable<string> quasi, IReadOnlyList<TableColumn> columns, byte[] data)
    {
        var manifest = new
        {
            audit.ExtractId,
            audit.SchoolYear,
            CreatedAt = audit.RequestedAt,
            audit.Recipient,
            audit.Purpose,
            audit.K,
            audit.Rows,
            audit.Suppressed,
            audit.SmallestClass,
            Generalizations = generalized.Steps,
            QuasiIdentifiers = quasi,
            audit.SmallCellThreshold,
            audit.DateShiftDays,
            audit.KeyFingerprint,
            File = $"extract.{audit.Format}",
            audit.FileSha256,
            Columns = columns.Select(c => new { c.Name, Type = c.Type.ToString().ToLowerInvariant() }),
        };
        using var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] bytes)
            {
                using var entry = archive.CreateEntry(name, CompressionLevel.Optimal).Open();
                entry.Write(bytes);
            }
            Add(manifest.File, data);
            Add("DATA-USE.md", Encoding.UTF8.GetBytes(DataUseNote.For(audit, generalized.Steps)));
            Add("manifest.json", JsonSerializer.SerializeToUtf8Bytes(manifest, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
        }
        return zip.ToArray();
    }
}
