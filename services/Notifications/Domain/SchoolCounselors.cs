using System.Collections.Concurrent;
using Beacon.Contracts.Ingestion;
using Beacon.Contracts.Shared;
using Beacon.Notifications.Outbound;
using Microsoft.Extensions.Options;

namespace Beacon.Notifications.Domain;

/// <summary>
/// The counselors of a school, as Ingestion's roster answers (gRPC), remembered for
/// <see cref="DeliveryOptions.RosterCacheFor"/>. Asking once per alert made the roster call most of an alert's
/// time under load (Ingestion is busy ingesting then). A school's counselors change rarely, and every
/// <c>StaffAssigned</c> forgets all answers (a counselor who moved leaves the old school's list too), so a
/// change on the roster reaches the next alert as soon as its event is here. The time limit covers what no
/// event announces.
/// </summary>
public sealed class SchoolCounselors(IOptions<DeliveryOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, (DateTimeOffset AskedAt, IReadOnlyList<StaffMember> Counselors)> _answers = new(StringComparer.Ordinal);

    // Raised by every forget: an answer asked before a staff change is used once but not remembered.
    private long _generation;
    private readonly Lock _gate = new();

    /// <summary>The school's counselors, and whether they were just asked of the roster (then the caller refreshes its staff projection).</summary>
    public async Task<(IReadOnlyList<StaffMember> Counselors, bool Fresh)> ForSchoolAsync(Roster.RosterClient roster, string schoolId, CancellationToken ct)
    {
        var keepFor = options.Value.RosterCacheFor;
        if (keepFor > TimeSpan.Zero && _answers.TryGetValue(schoolId, out var known) && clock.GetUtcNow() - known.AskedAt < keepFor)
        {
            return (known.Counselors, false);
        }
        var askedAt = clock.GetUtcNow();
        var generation = Interlocked.Read(ref _generation);
        var answer = await roster.ListSchoolCounselorsAsync(new ListSchoolCounselorsRequest { SchoolId = schoolId }, cancellationToken: ct);
        IReadOnlyList<StaffMember> counselors = [.. answer.Counselors];
        lock (_gate)
        {
            if (keepFor > TimeSpan.Zero && _generation == generation)
            {
                _answers[schoolId] = (askedAt, counselors);
            }
        }
        return (counselors, true);
    }

    /// <summary>Staff changed: the next alert of any school asks the roster again.</summary>
    public void ForgetAll()
    {
        lock (_gate)
        {
            _generation++;
            _answers.Clear();
        }
    }
}
