using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Beacon.Bench;

/// <summary>
/// What both end-to-end modes (attendance only, and the mixed signals) do the same way against a running platform:
/// sign in, post a roster, train and promote a cold-start model, listen to the counselors' feeds, and read percentiles.
/// </summary>
internal static class BenchPlatform
{
    /// <summary>A client for the gateway, signed in as the development administrator (the local run's dev issuer).</summary>
    public static async Task<HttpClient> ConnectAsync(Uri gateway)
    {
        var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(120) };
        using var token = await http.PostAsJsonAsync("/auth/dev/token", new { user = "admin-1" });
        if (token.IsSuccessStatusCode)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
                (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString());
        }
        return http;
    }

    /// <summary>
    /// The run's district, posted as a roster: schools "&lt;run&gt;-a" and "-b", two counselors each ("&lt;school&gt;-c1", "-c2"),
    /// and the students alternating between the schools ("&lt;school&gt;-s&lt;i&gt;").
    /// </summary>
    public static async Task<(string[] Counselors, (string Id, string School)[] Students)> PostDistrictAsync(HttpClient http, string run, int studentCount)
    {
        string[] schools = [$"{run}-a", $"{run}-b"];
        var counselors = schools.SelectMany(x => new[] { $"{x}-c1", $"{x}-c2" }).ToArray();
        var students = Enumerable.Range(0, studentCount).Select(i => (Id: $"{schools[i % 2]}-s{i}", School: schools[i % 2])).ToArray();
        var roster = new
        {
            schools = schools.Select(x => new { schoolId = x, name = x }),
            staff = counselors.Select(c => new { staffId = c, schoolId = SchoolOf(c), role = "counselor", givenName = "C", familyName = c, email = $"{c}@example.edu" }),
            students = students.Select(x => new { studentId = x.Id, schoolId = x.School, gradeLevel = "9", givenName = "S", familyName = x.Id }),
        };
        (await http.PostAsJsonAsync("/api/ingestion/v1/roster", roster)).EnsureSuccessStatusCode();
        return (counselors, students);
    }

    /// <summary>A counselor id is "&lt;school&gt;-c&lt;n&gt;".</summary>
    public static string SchoolOf(string counselor) => counselor[..counselor.LastIndexOf('-')];

    /// <summary>
    /// Trains a cold-start model of the kind on synthetic students and promotes it (synchronous, seconds); returns a line
    /// saying so, or null after printing why it failed.
    /// </summary>
    public static async Task<string?> TrainAndPromoteAsync(HttpClient http, string kind, int students)
    {
        var clock = Stopwatch.StartNew();
        using var trainer = new HttpClient { BaseAddress = http.BaseAddress, Timeout = TimeSpan.FromMinutes(10) };
        trainer.DefaultRequestHeaders.Authorization = http.DefaultRequestHeaders.Authorization;
        using var train = await trainer.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind, students, seed = 3, promote = true });
        var trained = await train.Content.ReadAsStringAsync();
        if (!train.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"training the {kind} model failed: {(int)train.StatusCode} {trained}");
            return null;
        }
        return $"{kind} model trained on {students:N0} synthetic students and promoted in {clock.Elapsed.TotalSeconds:F0} s";
    }

    /// <summary>
    /// Opens every counselor's feed stream (server-sent events through the gateway) and hands each feed entry about a
    /// student to <paramref name="onEntry"/> with the counselor and the clock's reading when it arrived.
    /// </summary>
    public static List<Task> OpenFeeds(HttpClient http, IEnumerable<string> counselors, Stopwatch clock, CancellationToken ct,
        Action<string, JsonElement, TimeSpan> onEntry) =>
        [.. counselors.Select(c => Task.Run(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/notifications/v1/staff/{c}/feed/stream");
            using var sse = new HttpClient { BaseAddress = http.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
            sse.DefaultRequestHeaders.Authorization = http.DefaultRequestHeaders.Authorization;
            using var response = await sse.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (line.StartsWith("data:", StringComparison.Ordinal) && line.Contains("studentId", StringComparison.Ordinal))
                {
                    onEntry(c, JsonDocument.Parse(line[5..]).RootElement, clock.Elapsed);
                }
            }
        }, CancellationToken.None))];

    /// <summary>Stops the feed readers; a cancelled or closed stream is how they end.</summary>
    public static async Task CloseFeedsAsync(CancellationTokenSource streams, List<Task> readers)
    {
        await streams.CancelAsync();
        try
        {
            await Task.WhenAll(readers);
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
        {
        }
    }

    /// <summary>School days back from last week, none in the future, oldest first.</summary>
    public static List<DateOnly> SchoolDays(int count)
    {
        var days = new List<DateOnly>();
        for (var d = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-7); days.Count < count; d = d.AddDays(-1))
        {
            if (d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
            {
                days.Insert(0, d);
            }
        }
        return days;
    }

    /// <summary>The p-th percentile of sorted values (nearest rank); NaN when there are none.</summary>
    public static double P(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1))];
}
