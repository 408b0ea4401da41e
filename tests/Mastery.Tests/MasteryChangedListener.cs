using System.Collections.Concurrent;
using Beacon.Contracts.Events;
using Beacon.Testing;
using MassTransit;

namespace Beacon.Mastery.Tests;

/// <summary>
/// A listener of our own on the real broker: the StudentMasteryChanged events other services would receive, from this
/// test's Mastery host only (a second host given the same bus scope would publish to the same exchange).
/// </summary>
public sealed class MasteryChangedListener : IAsyncDisposable
{
    private readonly ConcurrentQueue<StudentMasteryChanged> _events = new();
    private HostReceiveEndpointHandle? _handle;

    /// <summary>The events as published: one per student per unit of work.</summary>
    public IReadOnlyCollection<StudentMasteryChanged> Events => _events;

    /// <summary>Every skill estimate the events carry, in the order published.</summary>
    public IReadOnlyCollection<MasteryChanged> Changes =>
        [.. _events.SelectMany(e => e.Skills.Select(s => new MasteryChanged(e.StudentId, s.SkillId, s.ProbabilityMastered, s.Mastered, s.Attempts, e.OccurredAt)))];

    public static async Task<MasteryChangedListener> StartAsync(IBus bus)
    {
        var listener = new MasteryChangedListener();
        listener._handle = await bus.ObserveAsync<StudentMasteryChanged>(ctx =>
        {
            if (ctx.SourceAddress == bus.Address)
            {
                listener._events.Enqueue(ctx.Message);
            }
        });
        return listener;
    }

    public async ValueTask DisposeAsync()
    {
        if (_handle is not null)
        {
            await _handle.StopAsync();
        }
    }
}
