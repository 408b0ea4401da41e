using Beacon.Simulator;

// beacon simulate: generate a district (files + ground truth) and/or load it through the gateway.
var command = args.FirstOrDefault() ?? "help";
var options = Options.Parse(args.Skip(1).ToArray());
if (options is null || command is "help" or "-h" or "--help")
{
    Console.Error.WriteLine("""
        Usage: simulate <command> [options]
          generate --out DIR               write OneRoster CSV, signal CSV files and truth.json
          upload   --dir DIR --gateway URL upload a generated folder through the gateway
          demo     --gateway URL           generate into a temp folder and upload it
          stream   --gateway URL --rate N --seconds S [--batch 500]
                                           roster first, then attendance at N records/s for S seconds
          generate-years --out DIR         a multi-year district (cohorts, calendars with breaks, exits; see MultiYear.cs)
          upload-years --gateway URL [--load N]
                                           load its first N years (all) through the gateway as a backfill (?recordedAt=)
                 (multi-year: --years N (3), --seed (19), --schools (2), --students per school (240), --days per year (whole calendar))
        Options: --seed N (42)  --schools N (2)  --students N per school (15)  --days N school days (20)
                 --last-day yyyy-MM-dd (yesterday)  --items N answers per student and day (3)
                 --shift-day N  from school day N on, record late arrivals as absences (a planted drift)
        """);
    return command is "help" or "-h" or "--help" ? 0 : 2;
}

if (command is "generate-years" or "upload-years")
{
    var history = MultiYearGenerator.Generate(options.MultiYear);
    if (command == "generate-years")
    {
        var folder = options.Out ?? "district-history";
        MultiYearFiles.Write(history, folder);
        Console.WriteLine($"Wrote {history.Years.Count} school years ({string.Join(", ", history.Years.Select(y => $"{y.Calendar.Label}: {y.Students.Count} students, {y.Exits.Count} exits"))}) to {Path.GetFullPath(folder)}");
        return 0;
    }
    return await MultiYearFiles.UploadAsync(history, options.Gateway, options.Load, Console.Out, CancellationToken.None) == 0 ? 0 : 1;
}

var district = DistrictGenerator.Generate(command == "stream"
    // Enough school days that the stream does not run out before the time does.
    ? options.Simulation with { SchoolDays = Math.Max(options.Simulation.SchoolDays, (int)Math.Ceiling(options.Rate * options.Seconds / (options.Simulation.Schools * options.Simulation.StudentsPerSchool))), ItemsPerDay = 0 }
    : options.Simulation);
switch (command)
{
    case "generate":
        var folder = options.Out ?? "district";
        DistrictFiles.Write(district, folder);
        Console.WriteLine($"Wrote {district.Students.Count} students, {district.Attendance.Count} attendance days, {district.Answers.Count} answers, "
            + $"{district.Incidents.Count} incidents to {Path.GetFullPath(folder)} (ground truth in truth.json)");
        return 0;
    case "upload":
        return await DistrictFiles.UploadAsync(options.Dir ?? "district", options.Gateway, Console.Out, CancellationToken.None) == 0 ? 0 : 1;
    case "demo":
        var temp = Path.Combine(Path.GetTempPath(), $"beacon-demo-{Guid.NewGuid():N}");
        DistrictFiles.Write(district, temp);
        try
        {
            return await DistrictFiles.UploadAsync(temp, options.Gateway, Console.Out, CancellationToken.None) == 0 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    case "stream":
        var result = await Streamer.StreamAsync(district, options.Gateway, options.Rate, TimeSpan.FromSeconds(options.Seconds), options.Batch, Console.Error, CancellationToken.None);
        Console.WriteLine($"sent {result.Sent}, accepted {result.Accepted}, rejected {result.Rejected}, failed {result.Failed} in {result.Elapsed.TotalSeconds:F1} s "
            + $"({result.Sent / result.Elapsed.TotalSeconds:F0} records/s)");
        return result.Failed == 0 ? 0 : 1;
    default:
        Console.Error.WriteLine($"Unknown command '{command}'; try 'simulate help'.");
        return 2;
}

internal sealed record Options(SimulationOptions Simulation, string? Out, string? Dir, Uri Gateway, double Rate, int Seconds, int Batch)
{
    public MultiYearOptions MultiYear { get; init; } = new();

    public int? Load { get; init; }

    public static Options? Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                return null;
            }
            values[args[i][2..]] = args[i + 1];
        }
        int Int(string name, int fallback) => values.TryGetValue(name, out var v) && int.TryParse(v, out var n) && n > 0 ? n : fallback;
        DateOnly? lastDay = values.TryGetValue("last-day", out var d) && DateOnly.TryParseExact(d, "yyyy-MM-dd", out var day) ? day : null;
        return new Options(
            new SimulationOptions(Int("seed", 42), Int("schools", 2), Int("students", 15), Int("days", 20), lastDay, Int("items", 3),
                values.ContainsKey("shift-day") ? Int("shift-day", 1) : null),
            values.GetValueOrDefault("out"), values.GetValueOrDefault("dir"),
            new Uri(values.GetValueOrDefault("gateway") ?? "http://127.0.0.1:8080"),
            Int("rate", 1000), Int("seconds", 10), Int("batch", 500))
        {
            MultiYear = new MultiYearOptions(Int("seed", 19), Int("years", 3), Int("schools", 2), Int("students", 240),
                DaysPerYear: values.ContainsKey("days") ? Int("days", 170) : null),
            Load = values.ContainsKey("load") ? Int("load", 3) : null,
        };
    }
}
