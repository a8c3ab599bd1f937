"""BTS On-Time Performance monthly zips in transtats' layout, built for the tests.

109 quoted column names then a trailing comma (every line ends with a comma), clock times,
flight numbers and state FIPS quoted, city names quoted with an embedded comma, numbers with two
decimals, 0/1 flags as decimals, groups as integers, missing numbers empty, missing strings "".
"""

import zipfile

HEADER = (
    "Year,Quarter,Month,DayofMonth,DayOfWeek,FlightDate,Reporting_Airline,"
    "DOT_ID_Reporting_Airline,IATA_CODE_Reporting_Airline,Tail_Number,"
    "Flight_Number_Reporting_Airline,OriginAirportID,OriginAirportSeqID,OriginCityMarketID,Origin,"
    "OriginCityName,OriginState,OriginStateFips,OriginStateName,OriginWac,DestAirportID,"
    "DestAirportSeqID,DestCityMarketID,Dest,DestCityName,DestState,DestStateFips,DestStateName,"
    "DestWac,CRSDepTime,DepTime,DepDelay,DepDelayMinutes,DepDel15,DepartureDelayGroups,"
    "DepTimeBlk,TaxiOut,WheelsOff,WheelsOn,TaxiIn,CRSArrTime,ArrTime,ArrDelay,ArrDelayMinutes,"
    "ArrDel15,ArrivalDelayGroups,ArrTimeBlk,Cancelled,CancellationCode,Diverted,CRSElapsedTime,"
    "ActualElapsedTime,AirTime,Flights,Distance,DistanceGroup,CarrierDelay,WeatherDelay,"
    "NASDelay,SecurityDelay,LateAircraftDelay,FirstDepTime,TotalAddGTime,LongestAddGTime,"
    "DivAirportLandings,DivReachedDest,DivActualElapsedTime,DivArrDelay,DivDistance"
).split(",") + [
    f"Div{n}{name}"
    for n in range(1, 6)
    for name in (
        "Airport",
        "AirportID",
        "AirportSeqID",
        "WheelsOn",
        "TotalGTime",
        "LongestGTime",
        "WheelsOff",
        "TailNum",
    )
]
OLD_NAMES = {
    "Reporting_Airline": "UniqueCarrier",
    "DOT_ID_Reporting_Airline": "AirlineID",
    "IATA_CODE_Reporting_Airline": "Carrier",
    "Tail_Number": "TailNum",
    "Flight_Number_Reporting_Airline": "FlightNum",
}
# Columns BTS quotes (strings); every other value is written bare.
QUOTED = {
    "Reporting_Airline",
    "IATA_CODE_Reporting_Airline",
    "Tail_Number",
    "Flight_Number_Reporting_Airline",
    "Origin",
    "OriginCityName",
    "OriginState",
    "OriginStateFips",
    "OriginStateName",
    "Dest",
    "DestCityName",
    "DestState",
    "DestStateFips",
    "DestStateName",
    "CRSDepTime",
    "DepTime",
    "DepTimeBlk",
    "WheelsOff",
    "WheelsOn",
    "CRSArrTime",
    "ArrTime",
    "ArrTimeBlk",
    "CancellationCode",
    "FirstDepTime",
} | {
    f"Div{n}{name}" for n in range(1, 6) for name in ("Airport", "WheelsOn", "WheelsOff", "TailNum")
}
TWO_DECIMALS = {
    "DepDelay",
    "DepDelayMinutes",
    "DepDel15",
    "TaxiOut",
    "TaxiIn",
    "ArrDelay",
    "ArrDelayMinutes",
    "ArrDel15",
    "Cancelled",
    "Diverted",
    "CRSElapsedTime",
    "ActualElapsedTime",
    "AirTime",
    "Flights",
    "Distance",
}


def flight(**values):
    """One BTS row as a dict: realistic defaults for a JFK-LAX flight, overridden by ``values``."""
    row = {
        "Year": 2017,
        "Quarter": 1,
        "Month": 1,
        "DayofMonth": 1,
        "DayOfWeek": 7,
        "FlightDate": "2017-01-01",
        "Reporting_Airline": "AA",
        "DOT_ID_Reporting_Airline": 19805,
        "IATA_CODE_Reporting_Airline": "AA",
        "Tail_Number": "N787AA",
        "Flight_Number_Reporting_Airline": "1",
        "OriginAirportID": 12478,
        "Origin": "JFK",
        "OriginCityName": "New York, NY",
        "OriginState": "NY",
        "OriginStateFips": "36",
        "OriginStateName": "New York",
        "Dest": "LAX",
        "DestCityName": "Los Angeles, CA",
        "DestState": "CA",
        "DestStateFips": "06",
        "DestStateName": "California",
        "CRSDepTime": "0800",
        "DepTime": "0757",
        "DepDelay": -3.0,
        "DepDelayMinutes": 0.0,
        "DepDel15": 0.0,
        "DepartureDelayGroups": -1,
        "DepTimeBlk": "0800-0859",
        "CRSArrTime": "1142",
        "ArrTime": "1132",
        "ArrDelay": -10.0,
        "ArrDelayMinutes": 0.0,
        "ArrDel15": 0.0,
        "ArrivalDelayGroups": -1,
        "Cancelled": 0.0,
        "CancellationCode": "",
        "Diverted": 0.0,
        "CRSElapsedTime": 402.0,
        "ActualElapsedTime": 395.0,
        "Distance": 2475.0,
        "DistanceGroup": 10,
        "Flights": 1.0,
    }
    row.update(values)
    return row


def _field(name, value):
    if name in QUOTED:
        return f'"{"" if value is None else value}"'
    if value is None:
        return ""
    if name in TWO_DECIMALS and not isinstance(value, str):
        return f"{value:.2f}"
    return str(value)


def month_csv(rows, header=HEADER):
    """The CSV text of one month: quoted header and rows, each line ending with a comma."""
    lines = [",".join(f'"{name}"' for name in header) + ","]
    for row in rows:
        lines.append(",".join(_field(name, row.get(name)) for name in HEADER) + ",")
    return "\n".join(lines) + "\n"


def month_zip(directory, year, month, rows, header=HEADER):
    """Write transtats' zip for ``year``/``month`` holding ``rows``; return its path."""
    path = (
        directory / f"On_Time_Reporting_Carrier_On_Time_Performance_1987_present_{year}_{month}.zip"
    )
    member = f"On_Time_Reporting_Carrier_On_Time_Performance_(1987_present)_{year}_{month}.csv"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, month_csv(rows, header).encode("ascii"))
        archive.writestr("readme.html", "<html><body>Record layout</body></html>")
    return path
