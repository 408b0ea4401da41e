namespace Beacon.EndToEnd.Tests;

/// <summary>
/// The end-to-end classes each start a whole platform on the one test broker, where every platform's consumers bind to
/// the same message-type exchanges: a platform consumes the events of any other running beside it. Run one at a time,
/// so a three-year backfill (<see cref="DistrictHistoryTests"/>) does not flood the absence path's platform.
/// </summary>
[CollectionDefinition(Name)]
public sealed class OnePlatformAtATime
{
    public const string Name = "one platform at a time";
}
