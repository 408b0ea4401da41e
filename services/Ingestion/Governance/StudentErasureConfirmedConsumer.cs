using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Ingestion.Storage;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Governance;

/// <summary>Records each service's confirmation for the erasure report. Idempotent: the first confirmation per service is kept.</summary>
public sealed class StudentErasureConfirmedConsumer(IngestionDbContext db) : IConsumer<StudentErasureConfirmed>
{
    public async Task Consume(ConsumeContext<StudentErasureConfirmed> context)
    {
        var message = context.Message;
        var ct = context.CancellationToken;
        // Another Ingestion (another deployment or test on the same broker) may have asked: not ours to report.
        if (!await db.ErasureRequests.AnyAsync(r => r.RequestId == message.RequestId, ct)
            || await db.ErasureConfirmations.AnyAsync(c => c.RequestId == message.RequestId && c.Service == message.Service, ct))
        {
            return;
        }
        db.ErasureConfirmations.Add(new ErasureConfirmation
        {
            RequestId = message.RequestId,
            Service = message.Service,
            ConfirmedAt = message.ConfirmedAt,
            RowsAffected = JsonSerializer.Serialize(message.RowsAffected),
        });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            // The same confirmation arrived twice at once: one is enough. Anything else is retried.
            if (!await db.ErasureConfirmations.AsNoTracking().AnyAsync(c => c.RequestId == message.RequestId && c.Service == message.Service, ct))
            {
                throw;
            }
        }
    }
}
