using System.Globalization;
using System.Runtime.CompilerServices;
using Beacon.Contracts.Ingestion;
using Beacon.Ingestion.Apis;
using Beacon.Ingestion.Intake;
using Grpc.Core;

namespace Beacon.Ingestion.Grpc;

/// <summary>
/// Client-streaming feeds: the same validation, chunked storage and quarantine as the REST batches. The stream is read a
/// chunk ahead (<see cref="ReadAhead"/>): its messages are received while the previous chunk is written. The *Batches
/// calls carry many records a message and are otherwise the same intake.
/// </summary>
[Microsoft.AspNetCore.Authorization.Authorize(Policy = Beacon.ServiceDefaults.Policies.Feeds)]
public sealed class SignalFeedGrpcService(SignalIntake intake) : SignalFeed.SignalFeedBase
{
    public override Task<StreamSummary> StreamAttendance(IAsyncStreamReader<AttendanceRecordIn> requestStream, ServerCallContext context) =>
        RunAsync(new AttendanceProcessor(), ReadAhead.Buffered(Read(requestStream, Attendance, context.CancellationToken), SignalIntake.ChunkSize,
            context.CancellationToken), context);

    public override Task<StreamSummary> StreamItemResponses(IAsyncStreamReader<ItemResponseIn> requestStream, ServerCallContext context) =>
        RunAsync(new ItemResponseProcessor(), ReadAhead.Buffered(Read(requestStream, ItemResponse, context.CancellationToken), SignalIntake.ChunkSize,
            context.CancellationToken), context);

    public override Task<StreamSummary> StreamAttendanceBatches(IAsyncStreamReader<AttendanceBatchIn> requestStream, ServerCallContext context) =>
        RunAsync(new AttendanceProcessor(), ReadAhead.Buffered(ReadBatches(requestStream, m => m.Records, "records", Attendance, context.CancellationToken),
            SignalIntake.ChunkSize, context.CancellationToken), context);

    public override Task<StreamSummary> StreamItemResponseBatches(IAsyncStreamReader<ItemResponseBatchIn> requestStream, ServerCallContext context) =>
        RunAsync(new ItemResponseProcessor(), ReadAhead.Buffered(ReadBatches(requestStream, m => m.Responses, "responses", ItemResponse, context.CancellationToken),
            SignalIntake.ChunkSize, context.CancellationToken), context);

    private static AttendanceRow Attendance(AttendanceRecordIn m) => new()
    {
        StudentId = m.StudentId,
        Date = m.Date,
        Status = m.Status,
        Period = m.Period.Length == 0 ? null : m.Period,
    };

    private static ItemResponseRow ItemResponse(ItemResponseIn m) => new()
    {
        StudentId = m.StudentId,
        ItemId = m.ItemId,
        SkillIds = [.. m.SkillIds],
        Correct = m.Correct,
        AttemptNumber = m.AttemptNumber,
        HintsUsed = m.HintsUsed,
        TimeOnTaskSeconds = m.TimeOnTaskSeconds,
        AnsweredAt = DateTimeOffset.TryParse(m.AnsweredAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null,
    };

    private static async IAsyncEnumerable<Positioned<TRow>> Read<TMessage, TRow>(IAsyncStreamReader<TMessage> stream, Func<TMessage, TRow> map,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var i = 0;
        await foreach (var message in stream.ReadAllAsync(ct))
        {
            yield return new Positioned<TRow>($"messages[{i++}]", map(message));
        }
    }

    /// <summary>The records of each message in turn, in the order sent; a row is named by its message and its place in it.</summary>
    private static async IAsyncEnumerable<Positioned<TRow>> ReadBatches<TMessage, TRecord, TRow>(IAsyncStreamReader<TMessage> stream,
        Func<TMessage, IReadOnlyList<TRecord>> records, string field, Func<TRecord, TRow> map, [EnumeratorCancellation] CancellationToken ct)
    {
        var i = 0;
        await foreach (var message in stream.ReadAllAsync(ct))
        {
            var batch = records(message);
            for (var j = 0; j < batch.Count; j++)
            {
                yield return new Positioned<TRow>($"messages[{i}].{field}[{j}]", map(batch[j]));
            }
            i++;
        }
    }

    private async Task<StreamSummary> RunAsync<TRow>(ISignalProcessor<TRow> processor, IAsyncEnumerable<Positioned<TRow>> rows, ServerCallContext context)
    {
        var batchId = context.RequestHeaders.GetValue("idempotency-key") ?? Guid.NewGuid().ToString("N");
        var source = context.RequestHeaders.GetValue("x-beacon-source") ?? "grpc";
        if (await intake.FindAsync(batchId, context.CancellationToken) is { } seen)
        {
            // Read the re-sent stream to its end (ignoring it) so the client can finish writing normally.
            await foreach (var _ in rows.WithCancellation(context.CancellationToken))
            {
            }
            return new StreamSummary
            {
                BatchId = seen.BatchId,
                Received = seen.Received,
                Accepted = seen.Accepted,
                Unchanged = seen.Unchanged,
                Corrected = seen.Corrected,
                Rejected = seen.Rejected,
            };
        }
        var errors = new RowErrors();
        var summary = await intake.RunAsync(processor, rows, errors, new BatchContext(batchId, source), quarantine: true, context.CancellationToken);
        var reply = new StreamSummary
        {
            BatchId = summary.BatchId,
            Received = summary.Received,
            Accepted = summary.Accepted,
            Unchanged = summary.Unchanged,
            Corrected = summary.Corrected,
            Rejected = summary.Rejected,
        };
        reply.Rejections.AddRange(errors.All.Take(RowErrors.MaxReported)
            .SelectMany(r => r.Reasons.Select(x => new RowRejection { Position = r.Position, Field = x.Field, Reason = x.Reason })));
        return reply;
    }
}
