using System.Diagnostics;
using Beacon.EarlyWarning.Training;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;

// beacon-ew-train: trains and evaluates the early-warning models and prints every held-out figure.
//   oulad <folder> [--out DIR]                                    dropout on OULAD (train != 2014J, test 2014J)
//   attendance [--students N] [--test N] [--seed S] [--out DIR]   chronic absence on SYNTHETIC attendance
//   k12-synthetic [--students N] [--test N] [--seed S] [--prior-year]  K-12 dropout on SYNTHETIC students (the service's cold start; with last year)
//   dropout --gateway URL [--students-per-school 750] [--seed S]  K-12 dropout on simulated districts uploaded through a running platform
//           --offline [--prior-year 180] [--school-day 45]        the same computed in memory; --prior-year: each student with a previous year of N school days
//   dropout-ceiling [--students 50000] [--test 20000] [--days 30,45,60,75] [--prior-year 180]
//                                                                 the K-12 dropout model against what the signals can show (offline), by scoring day
//   district --gateway URL [--students-per-school 200] [--schools 2] [--seed 19] [--school-day 20] [--days N]
//                                                                 a 3-year simulated district loaded through a running platform, trained from history
//   bench [--students 100000] [--score 1000000] [--seed S]        training and scoring speed against the ABC rule
if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
{
    Console.WriteLine("usage: beacon-ew-train oulad <folder> [--out DIR] | attendance [--students 20000] [--test 10000] [--seed 42] [--out DIR] | bench [--students 100000] [--score 1000000]");
    return args.Length == 0 ? 2 : 0;
}

string? Option(string name) => Array.IndexOf(args, name) is var i && i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
int IntOption(string name, int fallback) => Option(name) is { } v
    ? int.TryParse(v, out var n) && n > 0 ? n : throw new ArgumentException($"{name} must be a positive whole number, not '{v}'.")
    : fallback;

// The previous school year's length in school days (0: none; a school year has at most about 200).
int PriorYearDays()
{
    var days = Option("--prior-year") is null ? 0 : IntOption("--prior-year", 180);
    return days <= 200 ? days : throw new ArgumentException($"--prior-year takes 1-200 school days, not {days}.");
}

// The eval's scoring day in its 90-day simulated year (default 45, the middle of it).
int SchoolDayOption()
{
    var day = IntOption("--school-day", 45);
    return day <= 90 ? day : throw new ArgumentException($"--school-day takes school days 1-90, not {day}.");
}

if (args[0] == "dropout")
{
    var gateway = args.Contains("--offline") ? null : new Uri(Option("--gateway") ?? "http://127.0.0.1:8080");
    return await DropoutEvaluation.RunAsync(new DropoutEvaluation.Options(gateway, StudentsPerSchool: IntOption("--students-per-school", 750),
        Seed: IntOption("--seed", 101), PriorYearDays: PriorYearDays(), ScoringDay: SchoolDayOption()), Console.Error, CancellationToken.None);
}

if (args[0] == "dropout-ceiling")
{
    return DropoutCeiling.Run(new DropoutCeiling.Options(IntOption("--students", 50_000), IntOption("--test", 20_000),
        ScoringDays: Option("--days")?.Split(',').Select(d => int.TryParse(d, out var n) && n is > 0 and <= 90 ? n : throw new ArgumentException($"--days takes school days 1-90, not '{d}'.")).ToArray(),
        PriorYearDays: PriorYearDays()),
        Console.Error);
}

if (args[0] == "district")
{
    return await DistrictEvaluation.RunAsync(new DistrictEvaluation.Options(new Uri(Option("--gateway") ?? "http://127.0.0.1:8080"),
        StudentsPerSchool: IntOption("--students-per-school", 200), Schools: IntOption("--schools", 2), Seed: IntOption("--seed", 19),
        SchoolDay: IntOption("--school-day", 20), DaysPerYear: Option("--days") is null ? null : IntOption("--days", 180)), Console.Error, CancellationToken.None);
}

if (args[0] == "bench")
{
    Bench.Run(IntOption("--students", 100_000), IntOption("--score", 1_000_000), IntOption("--seed", 42));
    return 0;
}

var watch = Stopwatch.StartNew();
var progress = new Progress<string>(m => Console.Error.WriteLine($"[{watch.Elapsed:mm\\:ss\\.f}] {m}"));
RiskDataset data;
try
{
    data = args[0] switch
    {
        "oulad" when args.Length > 1 => OuladDropout.Load(args[1]),
        "oulad" => throw new ArgumentException("oulad needs the OULAD folder, e.g. beacon-ew-train oulad /work/shared/data/oulad"),
        "attendance" => AttendanceSimulator.Dataset(IntOption("--students", 20_000), IntOption("--test", 10_000), IntOption("--seed", 42)),
        "k12-synthetic" => K12DropoutSimulator.Dataset(IntOption("--students", 20_000), IntOption("--test", 10_000), IntOption("--seed", 42), args.Contains("--prior-year")),
        _ => throw new ArgumentException($"unknown command '{args[0]}' (oulad, attendance)"),
    };
}
catch (Exception e) when (e is ArgumentException or IOException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

var result = new RiskModelTrainer(progress).Train(data);
Console.WriteLine(ReportFormatter.Markdown(result));
if (Option("--out") is { } outDir)
{
    var file = RiskModelFile.Save(result, outDir);
    Console.WriteLine($"saved {result.Served.Algorithm} model to {file}");
}
Console.Error.WriteLine($"[{watch.Elapsed:mm\\:ss\\.f}] done");
return 0;
