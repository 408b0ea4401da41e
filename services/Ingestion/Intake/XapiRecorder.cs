using System.Text.Json.Nodes;
using Beacon.Contracts.Events;
using Beacon.Ingestion.Apis;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using static Beacon.Ingestion.Intake.XapiValidation;

namespace Beacon.Ingestion.Intake;

/// <summary>The LRS's answer: the statement ids in request order, or why nothing was stored (400 errors or a 409 conflict).</summary>
public sealed record XapiOutcome(string BatchId, IReadOnlyList<string> Ids, Dictionary<string, string[]>? Errors = null, string? Conflict = null,
    int Used = 0, int NotUsed = 0, int AlreadyStored = 0);

/// <summary>
/// Stores statements as an LRS does (xAPI 1.0.3, Communication part 2.1) and records what Beacon can use of them.
/// A batch is all or nothing: one invalid statement refuses it (400, every problem listed), one id already stored
/// for a different statement refuses it (409); the same statement again changes nothing. A statement without an id
/// gets a UUID, one without a timestamp takes the time it was stored. Answers and LMS activity go through the same
/// processors (and events) as the REST feeds, in one transaction with the statements; a voiding statement withdraws
/// what the voided one produced (and voids it on arrival when the voiding came first).
/// </summary>
public sealed class XapiRecorder(IngestionDbContext db, SignalIntake intake, TimeProvider clock, IOptions<XapiOptions> options)
{
    private const string NotKeptJson = "{\"notKept\":\"the student was erased\"}";

    /// <summary>
    /// Records <paramref name="statements"/>; positions read <c>{at}[i]</c>, or <paramref name="at"/> alone for one statement
    /// (a PUT).
    /// </summary>
    public async Task<XapiOutcome> RecordAsync(IReadOnlyList<JsonNode?> statements, string at, bool single, string source, CancellationToken ct)
    {
        var batchId = $"xapi-{Guid.NewGuid():N}";
        string Pos(int i) => single ? at : $"{at}[{i}]";
        var errors = new Dictionary<string, List<string>>();
        var firstWithId = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < statements.Count; i++)
        {
            foreach (var (path, reason) in Check(statements[i], Pos(i)))
            {
                (errors.TryGetValue(path, out var list) ? list : errors[path] = []).Add(reason);
            }
            if ((statements[i] as JsonObject)?["id"] is { } idNode && Text(idNode) is { } id && !firstWithId.TryAdd(id, i))
            {
                errors[$"{Pos(i)}.id"] = [$"is also the id of {Pos(firstWithId[id])}: a batch cannot hold one id twice."];
            }
        }
        if (errors.Count > 0)
        {
            return new XapiOutcome(batchId, [], Errors: errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));
        }

        var received = statements.Select(s => (JsonObject)s!.DeepClone()).ToList();
        foreach (var statement in received)
        {
            statement["id"] = (Text(statement["id"]) ?? Guid.NewGuid().ToString("D")).ToLowerInvariant();
        }
        var ids = received.Select(s => Text(s["id"])!).ToList();
        // Two senders storing the same new id at once: the loser's commit fails, and the next pass sees the stored statement.
        return await UniqueViolation.RetryAsync(db, "this statement batch", () => StoreAsync(received, ids, batchId, source, ct));
    }

    private async Task<XapiOutcome> StoreAsync(List<JsonObject> received, List<string> ids, string batchId, string source, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var stored = await db.XapiStatements.AsNoTracking().Where(s => ids.Contains(s.StatementId)).ToDictionaryAsync(s => s.StatementId, ct);
        var conflicts = received.Where(s => stored.TryGetValue(Text(s["id"])!, out var old) && old.Json != NotKeptJson && !Same(JsonNode.Parse(old.Json)!, s)).Select(s => Text(s["id"])).ToList();
        if (conflicts.Count > 0)
        {
            return new XapiOutcome(batchId, [], Conflict: $"Statement id(s) {string.Join(", ", conflicts)} are already stored for a different statement; nothing was stored.");
        }
        var fresh = received.Where(s => !stored.ContainsKey(Text(s["id"])!)).ToList();
        var freshIds = fresh.Select(s => Text(s["id"])!).ToList();
        var studentOf = await StudentsAsync(fresh, ct);
        var catalogKeys = fresh.SelectMany(XapiStatements.CatalogKeys).Distinct().ToList();
        var catalog = await db.CatalogItems.AsNoTracking().Where(c => catalogKeys.Contains(c.ActivityId)).ToDictionaryAsync(c => c.ActivityId, ct);
        var voidedEarlier = await db.XapiStatements.AsNoTracking().Where(s => s.VoidsStatementId != null && freshIds.Contains(s.VoidsStatementId))
            .ToDictionaryAsync(s => s.VoidsStatementId!, s => s.StatementId, ct);

        var rows = new List<(XapiStatement Row, XapiPlan Plan, string Position)>();
        for (var i = 0; i < fresh.Count; i++)
        {
            var statement = fresh[i];
            var id = freshIds[i];
            var timestamp = Timestamp(statement["timestamp"]) ?? now;
            var studentId = studentOf.GetValueOrDefault(id);
            // The LRS's own properties: when it stored the statement, and that time as the timestamp the sender left out.
            statement["stored"] = now.ToString("O");
            statement["timestamp"] ??= now.ToString("O");
            var plan = voidedEarlier.TryGetValue(id, out var voider)
                ? XapiPlan.NotUsed($"voided by statement {voider}, which arrived first.")
                : XapiStatements.Plan(statement, id, studentId, timestamp, catalog, options.Value);
            var row = new XapiStatement
            {
                StatementId = id,
                Json = statement.ToJsonString(),
                Verb = Text(statement["verb"]?["id"])!,
                Stored = now,
                Timestamp = timestamp,
                BatchId = batchId,
                StudentId = studentId,
                Use = plan.Use,
                Reason = plan.Reason,
                VoidsStatementId = plan.Voids,
                Voided = voider is not null,
                StoredAtMs = now.ToUnixTimeMilliseconds(),
                ActorKey = XapiStatementQuery.ActorKey(statement["actor"], options.Value),
                ObjectId = Text(statement["object"]?["objectType"]) is null or "Activity" ? Text(statement["object"]?["id"]) : null,
            };
            rows.Add((row, plan, $"statements[{i}]"));
        }
        await NumberAttemptsAsync(rows, ct);

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await RunAsync(rows, new ItemResponseProcessor(), p => p.Answer, batchId, source, ct);
        await RunAsync(rows, new LmsActivityProcessor(), p => p.Activity, batchId + "/lms", source, ct);
        foreach (var (row, plan, _) in rows.Where(r => r.Row.Use == XapiUses.Answer))
        {
            (row.ItemId, row.AttemptNumber) = (plan.Answer!.ItemId, plan.Answer.AttemptNumber);
        }
        db.XapiStatements.AddRange(rows.Select(r => r.Row));
        await db.SaveChangesAsync(ct);
        await VoidAsync(rows.Select(r => r.Row).Where(r => r.Use == XapiUses.Voiding).ToList(), now, ct);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        db.ChangeTracker.Clear();

        var notUsed = rows.Count(r => r.Row.Use == XapiUses.NotUsed);
        return new XapiOutcome(batchId, ids, Used: rows.Count - notUsed, NotUsed: notUsed, AlreadyStored: received.Count - fresh.Count);
    }

    /// <summary>
    /// Statements do not number attempts; Beacon's answers are keyed by student, item and attempt. Without the attempt
    /// extension an answer is the next attempt after those stored (in the order statements arrive); with it, an attempt
    /// already stored is the same answer again and not used twice.
    /// </summary>
    private async Task NumberAttemptsAsync(List<(XapiStatement Row, XapiPlan Plan, string Position)> rows, CancellationToken ct)
    {
        var answers = rows.Where(r => r.Plan.Answer is not null).ToList();
        var students = answers.Select(r => r.Plan.Answer!.StudentId!).Distinct().ToList();
        var items = answers.Select(r => r.Plan.Answer!.ItemId!).Distinct().ToList();
        var attempts = (await db.ItemResponses.AsNoTracking().Where(r => students.Contains(r.StudentId) && items.Contains(r.ItemId))
            .Select(r => new { r.StudentId, r.ItemId, r.AttemptNumber }).ToListAsync(ct))
            .GroupBy(r => (r.StudentId, r.ItemId)).ToDictionary(g => g.Key, g => g.Select(r => r.AttemptNumber).ToHashSet());
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Plan.Answer is not { } answer)
            {
                continue;
            }
            var taken = attempts.TryGetValue((answer.StudentId!, answer.ItemId!), out var set) ? set : attempts[(answer.StudentId!, answer.ItemId!)] = [];
            if (answer.AttemptNumber is { } given && taken.Contains(given))
            {
                rows[i].Row.Use = XapiUses.NotUsed;
                rows[i].Row.Reason = $"attempt {given} of item '{answer.ItemId}' by this student is already recorded.";
                rows[i] = rows[i] with { Plan = XapiPlan.NotUsed(rows[i].Row.Reason!) };
                continue;
            }
            var attempt = answer.AttemptNumber ?? (taken.Count == 0 ? 1 : taken.Max() + 1);
            taken.Add(attempt);
            rows[i] = rows[i] with { Plan = rows[i].Plan with { Answer = answer with { AttemptNumber = attempt } } };
        }
    }

    /// <summary>Runs one kind of row through its processor; a row the processor refuses leaves its statement stored and not used, with the reasons.</summary>
    private async Task RunAsync<TRow>(List<(XapiStatement Row, XapiPlan Plan, string Position)> rows, ISignalProcessor<TRow> processor, Func<XapiPlan, TRow?> rowOf,
        string batchId, string source, CancellationToken ct)
        where TRow : class
    {
        var mine = rows.Where(r => rowOf(r.Plan) is not null).ToList();
        if (mine.Count == 0)
        {
            return;
        }
        var refused = new RowErrors();
        await intake.RunAsync(processor, mine.Select(r => new Positioned<TRow>(r.Position, rowOf(r.Plan)!)).ToAsyncEnumerable(), refused,
            new BatchContext(batchId, source), quarantine: false, ct);
        foreach (var rejected in refused.All)
        {
            var row = mine.First(r => r.Position == rejected.Position).Row;
            row.Use = XapiUses.NotUsed;
            row.Reason = string.Join(" ", rejected.Reasons.Select(r => $"{r.Field}: {r.Reason}"));
            if (rejected.Raw == Governance.ErasedStudentRows.NotKept)
            {
                // An erased student's statement is acknowledged (its id stays taken) but its content is not kept.
                (row.Json, row.StudentId) = (NotKeptJson, null);
            }
        }
    }

    /// <summary>Voids what each voiding statement names: the statement is marked voided and its answer or activity withdrawn (and published).</summary>
    private async Task VoidAsync(List<XapiStatement> voidings, DateTimeOffset now, CancellationToken ct)
    {
        var targetIds = voidings.Select(v => v.VoidsStatementId!).Distinct().ToList();
        var targets = await db.XapiStatements.Where(s => targetIds.Contains(s.StatementId)).ToDictionaryAsync(s => s.StatementId, ct);
        foreach (var voiding in voidings)
        {
            if (!targets.TryGetValue(voiding.VoidsStatementId!, out var target))
            {
                voiding.Reason = $"statement {voiding.VoidsStatementId} has not arrived; it is voided when it does.";
                continue;
            }
            if (target.Verb == VoidedVerb)
            {
                (voiding.Use, voiding.Reason) = (XapiUses.NotUsed, "it names a voiding statement, and a voiding statement cannot be voided.");
                continue;
            }
            if (target.Voided)
            {
                continue;
            }
            target.Voided = true;
            if (target.Use == XapiUses.Answer)
            {
                await db.ItemResponses.Where(r => r.StudentId == target.StudentId && r.ItemId == target.ItemId && r.AttemptNumber == target.AttemptNumber)
                    .ExecuteDeleteAsync(ct);
                db.Publish(new LearningRecordVoided(target.StatementId, target.StudentId!, XapiUses.Answer, target.ItemId, target.AttemptNumber, now));
            }
            else if (target.Use == XapiUses.Activity)
            {
                await db.LmsActivities.Where(a => a.StatementId == target.StatementId).ExecuteDeleteAsync(ct);
                db.Publish(new LearningRecordVoided(target.StatementId, target.StudentId!, XapiUses.Activity, null, null, now));
            }
        }
    }

    /// <summary>The roster student each statement's actor names, through the identifier map (keys tried most specific first).</summary>
    private async Task<Dictionary<string, string>> StudentsAsync(List<JsonObject> statements, CancellationToken ct)
    {
        var keysOf = statements.Where(s => s["actor"] is JsonObject)
            .ToDictionary(s => Text(s["id"])!, s => XapiStatements.ActorKeys((JsonObject)s["actor"]!, options.Value));
        var values = keysOf.Values.SelectMany(k => k.Select(x => x.Value)).Distinct().ToList();
        var known = (await db.StudentIdentifiers.AsNoTracking().Where(i => values.Contains(i.Value)).ToListAsync(ct))
            .ToDictionary(i => (i.Kind, i.Value), i => i.StudentId);
        foreach (var id in await db.Students.AsNoTracking().Where(s => values.Contains(s.StudentId)).Select(s => s.StudentId).ToListAsync(ct))
        {
            known[("sourcedId", id)] = id;
        }
        var found = new Dictionary<string, string>();
        foreach (var (statementId, keys) in keysOf)
        {
            if (keys.Select(k => known.GetValueOrDefault(k)).FirstOrDefault(s => s is not null) is { } student)
            {
                found[statementId] = student;
            }
        }
        return found;
    }

    /// <summary>
    /// Statement comparison as the spec defines it for a re-sent id: authority, stored, timestamp and version are set or
    /// changed by LRSs on the way and do not make two statements different; key order never does.
    /// </summary>
    private static bool Same(JsonNode stored, JsonObject incoming)
    {
        static JsonNode Comparable(JsonNode node)
        {
            var copy = (JsonObject)node.DeepClone();
            foreach (var key in new[] { "authority", "stored", "timestamp", "version" })
            {
                copy.Remove(key);
            }
            return copy;
        }
        return JsonNode.DeepEquals(Comparable(stored), Comparable(incoming));
    }
}
