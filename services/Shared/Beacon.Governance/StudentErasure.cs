using Beacon.Contracts.Events;
using Beacon.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Governance;

/// <summary>
/// A service's part of an erasure that Ingestion asked for: in one transaction the tombstone, the service's own
/// rows about the student (<see cref="DeleteRowsAsync"/>), its outbox events about them, and the confirmation
/// with the rows per table. A redelivered request finds nothing left and confirms with zeros.
/// </summary>
public abstract class StudentErasureConsumer<TContext>(TContext db, ErasedStudentsCache tombstones, TimeProvider clock) : IConsumer<StudentErasureRequested>
    where TContext : DbContext
{
    /// <summary>The service's database, in the erasure's transaction.</summary>
    protected TContext Db { get; } = db;

    /// <summary>The service's name in the erasure report.</summary>
    protected abstract string Service { get; }

    /// <summary>Deletes the service's rows about the student; returns the rows deleted per table.</summary>
    protected abstract Task<Dictionary<string, int>> DeleteRowsAsync(string studentId, CancellationToken ct);

    public async Task Consume(ConsumeContext<StudentErasureRequested> context)
    {
        var (requestId, studentId) = (context.Message.RequestId, context.Message.StudentId);
        var now = clock.GetUtcNow();
        await Db.EraseAsync(tombstones, studentId, requestId, now, async ct =>
        {
            var rows = await DeleteRowsAsync(studentId, ct);
            rows["outbox"] = await Db.DeleteOutboxOfStudentAsync(studentId, ct);
            return rows;
        }, rows => Db.Publish(new StudentErasureConfirmed(requestId, studentId, Service, rows, now)), context.CancellationToken);
    }
}

public static class StudentErasureRegistration
{
    /// <summary>The service's erasure consumer and the tombstone filter on every consumer; call inside AddServiceBus.</summary>
    public static IBusRegistrationConfigurator AddStudentErasure<TConsumer, TContext>(this IBusRegistrationConfigurator bus)
        where TConsumer : StudentErasureConsumer<TContext>
        where TContext : DbContext
    {
        bus.AddConsumer<TConsumer>();
        bus.AddErasedStudentFilter<TContext>();
        return bus;
    }
}
